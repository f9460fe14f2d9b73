package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/workflows"
)

// TestSlackResendQueuedByTwoReplicasCountsOnce: the limit of
// TestSlackResendToAnotherReplicaIsTheSameVote while no worker answers
// (a restart, a rolling deploy). The click reaches replica A, whose
// Update no worker takes within its wait: A queues the decision as a
// signal and tells the person so. Slack did not see A's ack and sends
// the envelope again, to replica B, which does the same. Each signal
// names the interaction (its request id is derived from it), and
// Temporal records a signal whose request id the run has seen once
// (server v1.32.1, service/history/api/signalworkflow/api.go,
// IsSignalRequested): the run's history holds one decision signal, the
// gate counts the one approval, and B's copy is not kept on the gate (its
// audit trail) as a second vote refused ("already voted"). Before, each
// replica's signal had a random request id (the SDK's): two signals, and
// the gate kept B's as a refused repeat.
//
// Not covered here (see the README's limits): the Update A sent, which no
// worker took in time, is still held by the server and delivered when the
// worker is back (while the run stays in the server's cache); it counts,
// and the signal, a copy of it (the same seal), is kept on the gate
// refused as a replayed signed request.
func TestSlackResendQueuedByTwoReplicasCountsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, fake := slackDev(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	wid := gatedSlackRun(ctx, t, h, fake, "slack-resend-queued-1", "quorum_gate", "e2e-gated-quorum")

	queued := func() int {
		n := 0
		for _, e := range fake.Ephemerals() {
			if e.Params["user"] == "URECORDER" && strings.Contains(e.Params["text"], "was queued") {
				n++
			}
		}
		return n
	}
	// No worker answers: each replica's Update waits 10 s, then the
	// decision is queued as a signal.
	h.sys.Worker.Stop()
	env, err := fake.PushInteractive(slackfake.BlockActionPayload("URECORDER", wid, "approve", slackapp.ActionApprove, "CSECOPS", ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.WaitFor(ctx, func() bool { return queued() == 1 }); err != nil {
		t.Fatalf("replica A did not queue the click: %v (%+v)", err, fake.Ephemerals())
	}
	replicaB(ctx, t, h, fake)
	if err := fake.Redeliver(env, "timeout"); err != nil {
		t.Fatal(err)
	}
	if err := fake.WaitFor(ctx, func() bool { return queued() == 2 }); err != nil {
		t.Fatalf("replica B did not queue the resent click: %v (%+v)", err, fake.Ephemerals())
	}

	h.startWorker(t)
	gate := func() *workflows.Gate {
		for _, st := range h.waitOrState(wid).Steps {
			if st.ID == "approve" && st.Gate != nil {
				return st.Gate
			}
		}
		return nil
	}
	if err := fake.WaitFor(ctx, func() bool { g := gate(); return g != nil && len(g.Votes) > 0 }); err != nil {
		t.Fatalf("the queued click was not counted once the worker was back: %v", err)
	}
	// Both signals are read in the worker's first workflow task, or the
	// next: give it a moment.
	time.Sleep(3 * time.Second)
	g := gate()
	if len(g.Votes) != 1 {
		t.Errorf("votes after the click was queued by two replicas: %+v, want the one approval", g.Votes)
	}
	for _, r := range g.Refused {
		if strings.Contains(r.Refusal, "already voted") {
			t.Errorf("the click queued by two replicas left a refused second vote on the gate: %+v", g.Refused)
		}
	}
	signals := 0
	it := h.sys.Client.GetWorkflowHistory(ctx, wid, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := e.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == workflows.SignalDecide {
			signals++
		}
	}
	if signals != 1 {
		t.Errorf("the click queued by two replicas is %d decision signals in the run's history, want 1", signals)
	}
	if m := fake.Ephemerals(); len(m) != 2 {
		for _, e := range m {
			if e.Params["user"] == "URECORDER" && strings.Contains(e.Params["text"], "not recorded") {
				t.Errorf("the person was told their queued click was not recorded: %q", e.Params["text"])
			}
		}
	}
}
