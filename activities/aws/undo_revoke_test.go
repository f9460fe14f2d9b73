package aws_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/activities/aws"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// runAs runs one attempt of action as a step of workflow wf (the
// rollback, hold release and withdrawal call the undo with the run's own
// workflow id and the step id with a suffix).
func runAs(t *testing.T, h *connectortest.Harness, action, wf, step string, params map[string]any) map[string]any {
	t.Helper()
	v, err := h.Execute(action, activities.Call{Action: action, Params: params, WorkflowID: wf, RunID: "r-" + wf, StepID: step, Index: -1, IdempotencyKey: wf + "/" + step + "/-1"})
	if err != nil {
		t.Fatalf("%s (%s): %v", action, wf, err)
	}
	var out map[string]any
	if err := v.Get(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Two runs revoke the sessions of the same role at different times (two
// GuardDuty findings on one role, minutes apart): run A denies tokens
// issued before T1, run B later moves the cut-off to T2. Rolling back run
// B (a duplicate, a false positive) must leave the state before B: tokens
// issued before T1, the ones run A cut off, stay denied. It used to delete
// the whole inline policy, so the credentials run A revoked worked again.
func TestRollbackOfLaterRevocationKeepsEarlierRunsRevocation(t *testing.T) {
	h := connectortest.New(t)
	p := map[string]any{"role_name": aws.LabRole}
	a := runAs(t, h, "aws.revoke_role_sessions", "run-A", "revoke", p)
	t1 := a["revoked_before"].(string)
	// The cut-off is the scheduled time to the second: run B a second later.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	b := runAs(t, h, "aws.revoke_role_sessions", "run-B", "revoke", p)
	if b["already"] != false || b["revoked_before"] == t1 {
		t.Fatalf("run B's revocation: %v (run A's cut-off %s)", b, t1)
	}
	runAs(t, h, "aws.restore_role_sessions", "run-B", "revoke.rollback", p)
	// A retried undo finds run B's revocation gone and changes nothing.
	if again := runAs(t, h, "aws.restore_role_sessions", "run-B", "revoke.rollback", p); again["already"] != true || again["revoked_before"] != t1 {
		t.Errorf("repeated rollback of run B: %v (run A's cut-off %s)", again, t1)
	}
	doc, ok := lab.Fake[*aws.Fake](h.Lab).RolePolicies(aws.LabRole)[aws.RevokePolicyName]
	if !ok || !strings.Contains(doc, `"aws:TokenIssueTime":"`+t1+`"`) {
		t.Fatalf("after rolling back run B, run A's revocation (tokens issued before %s) is gone: policy %q present=%v", t1, doc, ok)
	}
	if strings.Contains(doc, `"aws:TokenIssueTime":"`+b["revoked_before"].(string)+`"`) {
		t.Errorf("run B's cut-off is still in place after its rollback: %s", doc)
	}
	// Rolling back run A then lifts the rest.
	runAs(t, h, "aws.restore_role_sessions", "run-A", "revoke.rollback", p)
	if pol := lab.Fake[*aws.Fake](h.Lab).RolePolicies(aws.LabRole); len(pol) != 0 {
		t.Errorf("after rolling back both runs: %v", pol)
	}
}

// A revocation written before runs had their own statements (one
// statement without a Sid) is kept by a later run's revocation and by
// that run's rollback, and the rollback of the run that wrote it (which
// has no statement of its own) removes it alone.
func TestRevocationOfAnEarlierReleaseSurvivesAnotherRunsRollback(t *testing.T) {
	h := connectortest.New(t)
	fk := lab.Fake[*aws.Fake](h.Lab)
	legacy := time.Now().UTC().Add(-time.Minute).Truncate(time.Second).Format(time.RFC3339)
	fk.SetRolePolicy(aws.LabRole, aws.RevokePolicyName, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"`+legacy+`"}}}]}`)
	p := map[string]any{"role_name": aws.LabRole}
	b := runAs(t, h, "aws.revoke_role_sessions", "run-B", "revoke", p)
	if b["already"] != false {
		t.Fatalf("run B: %v", b)
	}
	runAs(t, h, "aws.restore_role_sessions", "run-B", "revoke.rollback", p)
	if doc := fk.RolePolicies(aws.LabRole)[aws.RevokePolicyName]; !strings.Contains(doc, legacy) {
		t.Fatalf("rollback of run B removed the earlier revocation: %q", doc)
	}
	runAs(t, h, "aws.revoke_role_sessions", "run-C", "revoke", p)
	runAs(t, h, "aws.restore_role_sessions", "run-A", "revoke.rollback", p)
	doc := fk.RolePolicies(aws.LabRole)[aws.RevokePolicyName]
	if strings.Contains(doc, legacy) || !strings.Contains(doc, `"Sid":"Riposte`) {
		t.Fatalf("rollback of the run of the earlier release: policy %q", doc)
	}
}

// runOf is runAs for run run of workflow wf: a finding its detector
// reopened has a new run under the same workflow id.
func runOf(t *testing.T, h *connectortest.Harness, action, wf, run, step string, params map[string]any) map[string]any {
	t.Helper()
	v, err := h.Execute(action, activities.Call{Action: action, Params: params, WorkflowID: wf, RunID: run, StepID: step, Index: -1, IdempotencyKey: wf + "/" + step + "/-1"})
	if err != nil {
		t.Fatalf("%s (%s, run %s): %v", action, wf, run, err)
	}
	var out map[string]any
	if err := v.Get(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// A finding its detector closed and reopened has a second run under the
// same workflow id (docs/detections.md: "starts a new run under the same
// workflow id"); the first run's revocation stays in place when it is
// withdrawn (on_withdraw: review). The statement was named after the
// workflow id only, so the second run's revocation replaced the first
// run's, and rolling back the second run (a false positive this time)
// deleted the policy: the sessions the first run cut off worked again.
func TestRollbackOfReopenedRunKeepsEarlierRunsRevocation(t *testing.T) {
	h := connectortest.New(t)
	p := map[string]any{"role_name": aws.LabRole}
	const wf = "guardduty-role:aws-guardduty.finding-1.abcd"
	first := runOf(t, h, "aws.revoke_role_sessions", wf, "run-1", "revoke", p)
	t1 := first["revoked_before"].(string)
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	second := runOf(t, h, "aws.revoke_role_sessions", wf, "run-2", "revoke", p)
	if second["already"] != false {
		t.Fatalf("second run's revocation: %v", second)
	}
	runOf(t, h, "aws.restore_role_sessions", wf, "run-2", "revoke.rollback", p)
	doc, ok := lab.Fake[*aws.Fake](h.Lab).RolePolicies(aws.LabRole)[aws.RevokePolicyName]
	if !ok || !strings.Contains(doc, `"aws:TokenIssueTime":"`+t1+`"`) {
		t.Fatalf("rolling back the reopened finding's run lifted the first run's revocation (tokens issued before %s): policy %q present=%v", t1, doc, ok)
	}
	// The first run's own rollback then lifts it.
	runOf(t, h, "aws.restore_role_sessions", wf, "run-1", "revoke.rollback", p)
	if pol := lab.Fake[*aws.Fake](h.Lab).RolePolicies(aws.LabRole); len(pol) != 0 {
		t.Errorf("after rolling back both runs: %v", pol)
	}
}

// The evidence snapshots of a reopened finding's run: its snapshot step
// has the same workflow id and step id as the earlier run's, so it found
// the earlier run's snapshots by their step tag and answered them
// (already: true) without taking any: the disk as it is after the
// reopening was never captured, and the run's output named snapshots
// from before it.
func TestSnapshotOfReopenedRunIsTaken(t *testing.T) {
	h := connectortest.New(t)
	p := map[string]any{"instance_id": aws.LabInstance}
	const wf = "ec2-compromise:aws-guardduty.finding-2.abcd"
	first := runOf(t, h, "aws.snapshot_instance", wf, "run-1", "snapshot", p)
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	second := runOf(t, h, "aws.snapshot_instance", wf, "run-2", "snapshot", p)
	if second["already"] != false || reflect.DeepEqual(second["snapshot_ids"], first["snapshot_ids"]) {
		t.Fatalf("the reopened run's snapshot step took no snapshot: %v (earlier run's: %v)", second, first["snapshot_ids"])
	}
	if n := lab.Fake[*aws.Fake](h.Lab).Snapshots(aws.LabInstance); n != 4 {
		t.Errorf("snapshots of the instance: %d; want 4 (two volumes, two runs)", n)
	}
	// A retry of the second run's step still finds its own.
	again := runOf(t, h, "aws.snapshot_instance", wf, "run-2", "snapshot", p)
	if again["already"] != true || !reflect.DeepEqual(again["snapshot_ids"], second["snapshot_ids"]) {
		t.Errorf("the step again: %v; want the second run's %v", again, second["snapshot_ids"])
	}
}
