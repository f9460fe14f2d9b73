package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/workflows"
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

// TestSlackResendOfAClickOnAReopenedFindingsOldRun: the click approved the
// gate of a run that then ended; the finding was closed and reopened, and
// its new run waits at the same gate under the same workflow id. Slack,
// which did not see the ack, sends the first click again, to another
// replica. The click was on the old run's message, whose buttons name that
// run: it must not count as a vote on the new run's gate (its approver did
// not see that run), and its author must not be told their recorded
// approval was "not recorded": the old run's outcome is theirs.
func TestSlackResendOfAClickOnAReopenedFindingsOldRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, fake := slackDev(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const uid = "slack-resend-reopen-1"
	wid := gatedSlackRun(ctx, t, h, fake, uid, "gate", "e2e-gated")
	first := h.waitOrState(wid)
	if first.RunID == "" {
		t.Fatalf("no run id for %s", wid)
	}

	// The click on the message of the first run (its buttons name it).
	value := slackapp.GateRef{WorkflowID: wid, GateID: "approve", RunID: first.RunID}.Encode()
	env, err := fake.PushInteractive(slackfake.BlockActionPayloadWithValue("URECORDER", value, slackapp.ActionApprove, "CSECOPS", ""))
	if err != nil {
		t.Fatal(err)
	}
	if d := h.waitRun(wid, time.Minute); d.Status != "succeeded" || d.RunID != first.RunID {
		t.Fatalf("run after the approval: %s (run %s, want %s)", d.Status, d.RunID, first.RunID)
	}
	// Closed, then reopened: a new run of the finding waits at its gate.
	update := func(ms int64, state string) string {
		return strings.Replace(detectionJSON(uid, 3, `,"unmapped":{"gate":true},`+state),
			`"finding_info":{`, fmt.Sprintf(`"finding_info":{"modified_time":%d,`, ms), 1)
	}
	if code, r := h.submit(update(1763458997000, `"activity_id":3,"status_id":4,"status":"Resolved"`)); code >= 300 {
		t.Fatalf("Close: %d %+v", code, r)
	}
	code, r := h.submit(update(1763459057000, `"activity_id":2,"status_id":1,"status":"New"`))
	if code != 202 {
		t.Fatalf("reopen: %d %+v", code, r)
	}
	h.waitStep(wid, "approve", "waiting_approval")
	if d := h.waitOrState(wid); d.RunID == first.RunID {
		t.Fatalf("no new run after the reopen (run %s)", d.RunID)
	}

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
	// Slack sends the first click again, to B.
	if err := fake.Redeliver(env, "timeout"); err != nil {
		t.Fatal(err)
	}
	// B answers on its own time: looked at after a pause.
	time.Sleep(3 * time.Second)
	votes := func() []workflows.Decision {
		for _, st := range h.waitOrState(wid).Steps {
			if st.ID == "approve" && st.Gate != nil {
				return st.Gate.Votes
			}
		}
		return nil
	}
	if v := votes(); len(v) != 0 {
		t.Errorf("the resent click on the old run's message counted on the reopened finding's new run: %+v", v)
	}
	if m := told("URECORDER", "not recorded"); len(m) > 0 {
		t.Errorf("the person whose approval was recorded on the first run was told after Slack resent it: %q", m)
	}
}
