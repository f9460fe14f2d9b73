package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
)

// TestSlackResendAfterTheRunEndedIsTheRecordedVote: the click that
// approved a gate let its run go on and end (e2e-gated ends moments
// later); Slack, which did not see the ack, sends the envelope again,
// to another replica. That is the click already recorded: the person who
// made it must not be told "Your approval was not recorded: … has
// ended; its gates are closed", while the approved step ran. Temporal
// keeps the outcome of a run's completed Updates and answers an Update
// of the same id to the ended run with it (server v1.32.1,
// service/history/api/updateworkflow: "If the WF is not running anymore,
// use an existing Update, if it exists for the requested ID"); a click
// that Temporal does not know on that run is still refused as a click on
// an ended run.
func TestSlackResendAfterTheRunEndedIsTheRecordedVote(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, fake := slackDev(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wid := gatedSlackRun(ctx, t, h, fake, "slack-resend-ended-1", "gate", "e2e-gated")

	// The click reaches replica A (riposte dev's connection), approves,
	// and the run ends.
	env, err := fake.PushInteractive(slackfake.BlockActionPayload("URECORDER", wid, "approve", slackapp.ActionApprove, "CSECOPS", ""))
	if err != nil {
		t.Fatal(err)
	}
	if d := h.waitRun(wid, time.Minute); d.Status != "succeeded" {
		t.Fatalf("run after the approval: %s", d.Status)
	}

	// Replica B, as in TestSlackResendToAnotherReplicaIsTheSameVote.
	replicaB(ctx, t, h, fake)
	told := func(user, text string) []string {
		var out []string
		for _, e := range fake.Ephemerals() {
			if e.Params["user"] == user && strings.Contains(e.Params["text"], text) {
				out = append(out, e.Params["text"])
			}
		}
		return out
	}

	// Slack sends the envelope again, to B.
	if err := fake.Redeliver(env, "timeout"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if m := told("URECORDER", "not recorded"); len(m) > 0 {
		t.Errorf("the person whose approval was recorded, and ran, was told after Slack resent the click: %q", m)
	}

	// Another click on the ended run's message (a new interaction) is
	// refused as before.
	if _, err := fake.PushInteractive(slackfake.BlockActionPayload("UOTHER", wid, "approve", slackapp.ActionApprove, "CSECOPS", "")); err != nil {
		t.Fatal(err)
	}
	if err := fake.WaitFor(ctx, func() bool { return len(told("UOTHER", "has ended")) > 0 }); err != nil {
		t.Errorf("a new click on the ended run was not refused as such: %v (%+v)", err, fake.Ephemerals())
	}
	// Looked at again once the later click was answered, so that a slow
	// replica B cannot make the check above pass by not having answered.
	if m := told("URECORDER", "not recorded"); len(m) > 0 {
		t.Errorf("the person whose approval was recorded, and ran, was told after Slack resent the click: %q", m)
	}
}
