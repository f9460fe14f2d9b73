package dispatch

import (
	"context"
	"slices"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// lifecyclePlaybookNamed compiles a one-step playbook: name, extra
// top-level lines (mode: shadow) and its trigger.
func lifecyclePlaybookNamed(t *testing.T, name, extra, when string) *playbook.Compiled {
	t.Helper()
	c, diags := playbook.LoadBytes(name+".yaml", []byte(`apiVersion: riposte/v1
name: `+name+`
version: 1
`+extra+`
trigger:
  when: '`+when+`'
steps:
  - id: a
    action: core.noop
`), activities.Catalog())
	if diags != nil {
		t.Fatal(diags)
	}
	return c
}

func lifecycleDet(product, uid string, sev int, extra map[string]any) intake.Detection {
	d := intake.Detection{"class_uid": 2004, "severity_id": sev, "time": 1700000000000,
		"finding_info": map[string]any{"uid": uid, "title": "t"},
		"metadata":     map[string]any{"product": map[string]any{"name": product}}}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

// OCSF 1.1+ Detection Finding status_id 6 "Deleted: The Finding was
// deleted. For example, it might have been created in error." It must not
// start a containment run, and it must end the run its Create started.
func TestDeletedFindingIsAWithdrawal(t *testing.T) {
	cl := &runningClient{}
	d := &Dispatcher{Client: cl, TaskQueue: "q"}
	d.SetPlaybooks(playbook.NewSet(lifecyclePlaybookNamed(t, "respond", "", `finding.state == "active" && finding.severity_id >= 4`)))

	// A Deleted record of a finding no run exists for starts a run.
	out, err := d.Dispatch(context.Background(), 0, lifecycleDet("EDR", "gone-1", 5, map[string]any{"status_id": 6, "status": "Deleted"}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Matched) != 0 || out.State != "withdrawn" {
		t.Errorf("Deleted record (status_id 6) of a new finding: state %q, started %v; want withdrawn, nothing started", out.State, out.Matched)
	}

	// A Deleted record of a running finding does not withdraw its run.
	out, err = d.Dispatch(context.Background(), 0, lifecycleDet("EDR", "f-1", 5, map[string]any{"status_id": 1}), Options{})
	if err != nil || len(out.Matched) != 1 {
		t.Fatalf("create: %+v %v", out, err)
	}
	out, err = d.Dispatch(context.Background(), 0, lifecycleDet("EDR", "f-1", 5, map[string]any{"status_id": 6, "activity_id": 2}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out.State != "withdrawn" {
		t.Errorf("Deleted record of a running finding: state %q (delivered as an ordinary update, signalled %v); want withdrawn", out.State, out.Signalled)
	}
}

// README: playbooks are reloaded and "runs in flight keep the version they
// started with"; docs/detections.md: a withdrawal signals "every running
// run of the finding (one per playbook)". A run of a playbook that was
// removed (or renamed) by a reload never hears of the withdrawal.
func TestWithdrawalReachesRunOfPlaybookRemovedByReload(t *testing.T) {
	cl := &runningClient{}
	d := &Dispatcher{Client: cl, TaskQueue: "q"}
	d.SetPlaybooks(playbook.NewSet(lifecyclePlaybookNamed(t, "contain-old", "", `finding.state == "active"`)))
	out, err := d.Dispatch(context.Background(), 0, lifecycleDet("EDR", "f-2", 5, nil), Options{})
	if err != nil || len(out.Matched) != 1 {
		t.Fatalf("create: %+v %v", out, err)
	}
	wid := out.Matched[0].WorkflowID
	// Reload: contain-old is replaced by contain-new.
	d.SetPlaybooks(playbook.NewSet(lifecyclePlaybookNamed(t, "contain-new", "", `finding.state == "active"`)))
	out, err = d.Dispatch(context.Background(), 0, lifecycleDet("EDR", "f-2", 5, map[string]any{"status_id": 4}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(out.Signalled, wid) {
		t.Errorf("Resolved record: signalled %v; the running run %s (playbook removed by a reload) was not withdrawn", out.Signalled, wid)
	}
}

// docs/detections.md: "any other record of a running finding (e.g.
// activity_id 2 Update) | delivered to the run; if its severity or
// confidence is higher, the run's finding ... replaced". The update is
// only delivered when it matches the playbook's trigger again: an Update
// raising severity to Critical that does not repeat confidence_score never
// reaches the running run (and with the shipped triage playbook it starts
// a new triage run instead).
func TestUpdateDeliveredEvenWhenTriggerNoLongerMatches(t *testing.T) {
	cl := &runningClient{}
	d := &Dispatcher{Client: cl, TaskQueue: "q"}
	d.SetPlaybooks(playbook.NewSet(lifecyclePlaybookNamed(t, "contain", "", `finding.state == "active" && finding.severity_id >= 4 && (finding.confidence ?? 0) >= 70`)))
	out, err := d.Dispatch(context.Background(), 0, lifecycleDet("EDR", "f-3", 4, map[string]any{"confidence_score": 90, "activity_id": 1}), Options{})
	if err != nil || len(out.Matched) != 1 {
		t.Fatalf("create: %+v %v", out, err)
	}
	wid := out.Matched[0].WorkflowID
	out, err = d.Dispatch(context.Background(), 0, lifecycleDet("EDR", "f-3", 5, map[string]any{"activity_id": 2}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(out.Signalled, wid) {
		t.Errorf("Update (severity High -> Critical) of a running finding: signalled %v; want it delivered to %s", out.Signalled, wid)
	}
}

// README "Dry runs and shadow mode": mode: shadow "does the same on live
// detections"; docs/detections.md: a withdrawal signals "every running run
// of the finding (one per playbook)". A shadow run is never sent the
// withdrawal: signal() derives only the live id, so the shadow run goes on
// to report containment the live playbook would have stopped.
func TestWithdrawalReachesShadowRun(t *testing.T) {
	cl := &runningClient{}
	d := &Dispatcher{Client: cl, TaskQueue: "q"}
	d.SetPlaybooks(playbook.NewSet(lifecyclePlaybookNamed(t, "candidate", "mode: shadow", `finding.state == "active"`)))
	out, err := d.Dispatch(context.Background(), 0, lifecycleDet("EDR", "f-4", 5, nil), Options{})
	if err != nil || len(out.Matched) != 1 || out.Matched[0].Mode != playbook.ModeShadow {
		t.Fatalf("create: %+v %v", out, err)
	}
	wid := out.Matched[0].WorkflowID
	out, err = d.Dispatch(context.Background(), 0, lifecycleDet("EDR", "f-4", 5, map[string]any{"status_id": 4}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(out.Signalled, wid) {
		t.Errorf("Resolved record: signalled %v; the shadow run %s was not withdrawn", out.Signalled, wid)
	}
}
