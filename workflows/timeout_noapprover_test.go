package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/workflows"
)

// on_timeout: approve means "contain unless an approver objects in time"
// (README, Human approval). When the approvers named (a Slack user group)
// resolve to nobody, the request is posted but validateDecision refuses
// every vote ("no approver could be resolved ...; the gate will follow
// on_timeout"): nobody could object, exactly as when nobody was asked.
// The timeout must not contain then.
func TestTimeoutDoesNotApproveWhenNobodyCouldDecide(t *testing.T) {
	// What slackapp.Poster.OpenGateOnce answers when the group has no
	// members (or, without Slack, what the worker answers for groups):
	// posted, no approvers.
	open := func(context.Context, workflows.GateRequest) (workflows.GateOpened, error) {
		return workflows.GateOpened{Channel: "CSEC", MessageTS: "1700000000.000001", Posted: true}, nil
	}
	h, v := gateTimeoutHarness(t, open, nil)

	res, _ := h.run(compileYAML(t, strings.Replace(containPlaybook, "%s", `approval: {approvers: {groups: [S0EMPTYGROUP]}, timeout: 30m, on_timeout: approve}`, 1)), det)
	st := stepOf(res, "isolate")
	if n := v.count("crowdstrike.contain_host"); n != 0 {
		t.Fatalf("nobody could approve or deny the gate, yet its timeout contained the host (%d calls; step %s %q; gate decision %+v)", n, st.Status, st.Reason, res.Gates[0].Decision)
	}
	if len(res.Gates) != 1 || res.Gates[0].State != workflows.GateTimedOut {
		t.Fatalf("gates %+v, want one timed out", res.Gates)
	}
	if d := res.Gates[0].Decision; d == nil || !strings.HasPrefix(d.Reason, workflows.ReasonTimeoutNotApplied) {
		t.Errorf("decision %+v, want the reason to say on_timeout: approve was not applied", d)
	}
}

// The same when the only approver is the run's requester (the on-call who
// submitted the detection through the API, or a rerun): four-eyes refuses
// the requester's every vote, deny included, so nobody could object, and
// on_timeout: approve must not contain what only its requester saw.
func TestTimeoutDoesNotApproveWhenOnlyTheRequesterIsApprover(t *testing.T) {
	open := func(_ context.Context, req workflows.GateRequest) (workflows.GateOpened, error) {
		return workflows.GateOpened{Approvers: req.Users, Channel: "CSEC", MessageTS: "1700000000.000001", Posted: true}, nil
	}
	h, v := gateTimeoutHarness(t, open, nil)
	var refused string
	h.vote(10*time.Minute, workflows.Decision{GateID: "isolate", Approve: false, User: "UALICE", Reason: "wrong host"}, &refused)

	c := compileYAML(t, strings.Replace(containPlaybook, "%s", `approval: {approvers: {users: [UALICE]}, timeout: 30m, on_timeout: approve}`, 1))
	h.env.ExecuteWorkflow(workflows.PlaybookWorkflow, workflows.Input{Playbook: c.Playbook, Digest: c.Digest, Detection: det, Requester: "UALICE"})
	var res workflows.Result
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if refused == "" {
		t.Fatal("the requester's deny was accepted: the premise does not hold")
	}
	if n := v.count("crowdstrike.contain_host"); n != 0 {
		st := stepOf(&res, "isolate")
		t.Fatalf("the only approver is the requester, whose deny was refused (%s), yet the timeout contained the host (%d calls; step %s; decision %+v)", refused, n, st.Status, res.Gates[0].Decision)
	}
}
