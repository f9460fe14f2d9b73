package workflows_test

import (
	"strings"
	"testing"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/workflows"
)

// The Temporal UI shows a waiting gate by its timer's summary (README: "the
// Temporal UI's timer says" what the timeout will do). An on_timeout:
// escalate gate escalates once; the escalation's own timeout then times
// the gate out (nothing contained). The escalation round's timer
// said "(then escalate)": an operator reading the UI expected another round
// of approvers to be asked, not the containment to be dropped. It now says
// the gate will time out (a timer summary is user metadata, not checked on
// replay).
func TestEscalatedGateTimerDoesNotSayThenEscalate(t *testing.T) {
	h, _ := newGateHarness(t, 1, "escalate", "")
	sums := &timerSummaries{}
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{sums}})
	res := runGate(t, h, 1, "escalate", "escalate_to: {users: [UBOSS], timeout: 1h}", "")
	if len(res.Gates) != 1 || !res.Gates[0].Escalated || res.Gates[0].State != workflows.GateTimedOut {
		t.Fatalf("gates %+v, want one escalated, then timed out", res.Gates)
	}
	sums.mu.Lock()
	defer sums.mu.Unlock()
	if len(sums.got) != 2 {
		t.Fatalf("gate timer summaries %q, want two (the first round, the escalation)", sums.got)
	}
	if s := sums.got[1]; strings.Contains(s, "then escalate") {
		t.Errorf("the escalation's timer summary is %q, but when it fires the gate times out (it escalates once)", s)
	}
}
