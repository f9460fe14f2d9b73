package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// rollbackBody is a 202's body as the tests read it.
type rollbackBody struct {
	Undo               []workflows.UndoCall `json:"undo"`
	InheritedHoldsLeft []InheritedHoldLeft  `json:"inherited_holds_left"`
}

func inheritedUndo(undo []workflows.UndoCall, host string) bool {
	for _, u := range undo {
		if u.Step == workflows.InheritedPrefix+"isolate" && u.Undo == "defender.unisolate_machine" && u.Params["hostname"] == host {
			return true
		}
	}
	return false
}

// README, Reopened findings: the run that continues a withdrawn one
// releases the holds it inherited when they fall due, and a rollback of
// it leaves them to that release. Run r-b ended before (terminated,
// cancelled: no code of an ended run releases anything), and its
// rollback still left the hold of fin-ws-042 "in place until its
// release" (inherited_holds_left): a release that never comes, so the
// host stayed isolated for good, though runs show said "riposte rollback
// undoes it". Once the run has ended without releasing it, the rollback
// plans the inherited hold and undoes it like the run's own holds (listed
// in undo, not as left), after them (it is older); while the run runs it
// is still left to its release (TestRollbackOfContinuedRunListsInheritedHoldsLeft).
func TestRollbackOfEndedContinuedRunUndoesInheritedHolds(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	c := newContinuedClient(t)
	c.current, c.continued = "r-b", true
	c.ended = map[string]enumspb.WorkflowExecutionStatus{"r-b": enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED}
	srv.Temporal = c
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	var body rollbackBody
	if got.code != http.StatusAccepted || json.Unmarshal([]byte(got.body), &body) != nil {
		t.Fatalf("status %d: %s", got.code, got.body)
	}
	if len(body.Undo) != 2 || body.Undo[0].Params["hostname"] != "fin-ws-077" || !inheritedUndo(body.Undo[1:], "fin-ws-042") {
		t.Errorf("undo %+v; want r-b's own isolation of fin-ws-077, then the isolation of fin-ws-042 it inherited from r-a: %s", body.Undo, got.body)
	}
	if len(body.InheritedHoldsLeft) != 0 || strings.Contains(got.body, "inherited_holds_left") {
		t.Errorf("inherited_holds_left %+v; r-b has ended: nothing releases them, the rollback undoes them", body.InheritedHoldsLeft)
	}
	if len(c.inputs) != 1 || !inheritedUndo(c.inputs[0].Undo, "fin-ws-042") || len(c.marks) != 0 || c.started[0].StartDelay != 0 {
		t.Fatalf("rollback inputs %+v, marks %v; want one rollback undoing fin-ws-042 too, no mark (r-b has ended)", c.inputs, c.marks)
	}

	// Asked again once that rollback succeeded: answered with it (it
	// planned the inherited hold: r-b had ended), not started anew.
	c.rbStatus, c.rbStart = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, continuedStart.Add(95*time.Minute)
	got = serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	if got.code >= 300 || len(c.started) != 2 || c.started[1].WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE {
		t.Errorf("asked again: status %d, starts %d: %s; want the succeeded rollback reused (it undid the inherited hold)", got.code, len(c.started), got.body)
	}
}

// A rollback asked while r-b ran undid its own isolation and left the
// inherited hold to its release; r-b was then terminated before that
// release. Asked again, the rollback plans what the first one left: the
// inherited hold, in a new rollback.
func TestRollbackAfterTheContinuedRunEndedUndoesWhatTheFirstLeft(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	c := newContinuedClient(t)
	c.current, c.continued = "r-b", true
	srv.Temporal = c
	if got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`)); got.code != http.StatusAccepted ||
		inheritedUndo(c.inputs[0].Undo, "fin-ws-042") || !strings.Contains(got.body, "inherited_holds_left") {
		t.Fatalf("rollback of running r-b: %d %s; want the inherited hold left to its release", got.code, got.body)
	}
	// That rollback (started 40 minutes in) succeeded; r-b was
	// terminated an hour after it started, its inherited hold unreleased.
	c.rbStatus = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	c.ended = map[string]enumspb.WorkflowExecutionStatus{"r-b": enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED}
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	var body rollbackBody
	if got.code != http.StatusAccepted || json.Unmarshal([]byte(got.body), &body) != nil {
		t.Fatalf("asked again: status %d: %s", got.code, got.body)
	}
	if len(body.Undo) != 1 || !inheritedUndo(body.Undo, "fin-ws-042") || len(body.InheritedHoldsLeft) != 0 {
		t.Errorf("asked again: undo %+v, left %+v; want the inherited hold of fin-ws-042 only (the first rollback undid fin-ws-077)", body.Undo, body.InheritedHoldsLeft)
	}
	if last := c.started[len(c.started)-1]; last.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE {
		t.Errorf("asked again: reuse policy %s; want a new rollback (the succeeded one left the inherited hold)", last.WorkflowIDReusePolicy)
	}
}

// Cancelled, with nothing of its own to undo: the 409 ("nothing to roll
// back ... left in place until its release") becomes a rollback of the
// inherited holds it did not release, and of one whose release failed
// (its containment may be in place, as for the run's own holds).
func TestRollbackOfCancelledContinuedRunWithOnlyInheritedHolds(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	c := newContinuedClient(t)
	c.current, c.continued = "r-b", true
	c.ended = map[string]enumspb.WorkflowExecutionStatus{"r-b": enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED}
	run := c.runs["r-b"]
	run.steps = nil
	released := continuedStart.Add(50 * time.Minute)
	run.holds = []map[string]any{
		{"step": workflows.InheritedPrefix + "isolate", "undo": "defender.unisolate_machine", "until": continuedStart.Add(4 * time.Hour),
			"inherited_from": "r-a", "targets": []map[string]any{{"hostname": "fin-ws-042"}},
			"extensions": []string{"not released: the run was cancelled; containment inherited from run r-a stays in place (riposte rollback undoes it)"}},
		{"step": workflows.InheritedPrefix + "quarantine", "undo": "defender.unisolate_machine", "until": continuedStart.Add(45 * time.Minute),
			"released_at": released, "error": "[HTTP 503]", "inherited_from": "r-a", "targets": []map[string]any{{"hostname": "fin-ws-050"}}},
	}
	c.runs["r-b"] = run
	srv.Temporal = c
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	var body rollbackBody
	if got.code != http.StatusAccepted || json.Unmarshal([]byte(got.body), &body) != nil {
		t.Fatalf("status %d: %s; want the inherited holds r-b left rolled back", got.code, got.body)
	}
	if len(body.Undo) != 2 || !inheritedUndo(body.Undo, "fin-ws-042") || body.Undo[1].Params["hostname"] != "fin-ws-050" || body.Undo[1].Action != "defender.isolate_machine" {
		t.Errorf("undo %+v; want fin-ws-042 (not released) and fin-ws-050 (its release failed)", body.Undo)
	}
}

// r-b still runs (holding its own isolation of fin-ws-077), and the
// release of the hold of fin-ws-050 it inherited failed at 10:15 (the
// Defender API answered 503 on every retry): nothing releases it any more
// — the run releases each hold once — yet a rollback neither undid it
// (planned only once the run has ended) nor listed it as left (only holds
// not released were): the host stayed isolated for good, and the answer
// did not name it. It is undone like the run's own hold whose release
// failed; the hold not yet due (fin-ws-042) is still left to its release.
// A rollback that succeeded before the release failed did not undo it:
// asked again, it is planned in a new rollback.
func TestRollbackOfRunningContinuedRunUndoesInheritedHoldWhoseReleaseFailed(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	c := newContinuedClient(t)
	c.current, c.continued = "r-b", true
	run := c.runs["r-b"]
	failedAt := continuedStart.Add(75 * time.Minute)
	run.holds = append(run.holds, map[string]any{"step": workflows.InheritedPrefix + "quarantine", "undo": "defender.unisolate_machine",
		"until": continuedStart.Add(75 * time.Minute), "released_at": failedAt, "error": "[HTTP 503]", "inherited_from": "r-a",
		"targets": []map[string]any{{"hostname": "fin-ws-050"}}})
	c.runs["r-b"] = run
	srv.Temporal = c
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	var body rollbackBody
	if got.code != http.StatusAccepted || json.Unmarshal([]byte(got.body), &body) != nil {
		t.Fatalf("status %d: %s", got.code, got.body)
	}
	failed := func(undo []workflows.UndoCall) bool {
		for _, u := range undo {
			if u.Step == workflows.InheritedPrefix+"quarantine" && u.Params["hostname"] == "fin-ws-050" && u.Undo == "defender.unisolate_machine" {
				return true
			}
		}
		return false
	}
	if !failed(body.Undo) || len(body.Undo) != 2 || inheritedUndo(body.Undo, "fin-ws-042") {
		t.Errorf("undo %+v; want r-b's own fin-ws-077 and fin-ws-050, whose inherited release failed (not fin-ws-042, not yet due)", body.Undo)
	}
	if len(body.InheritedHoldsLeft) != 1 || body.InheritedHoldsLeft[0].Targets[0]["hostname"] != "fin-ws-042" {
		t.Errorf("inherited_holds_left %+v; want fin-ws-042 only", body.InheritedHoldsLeft)
	}

	// The first rollback (started 40 minutes in) succeeded before that
	// release failed: asked again, the failed release is planned anew.
	c.rbStatus = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	got = serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	body = rollbackBody{}
	if got.code != http.StatusAccepted || json.Unmarshal([]byte(got.body), &body) != nil {
		t.Fatalf("asked again: status %d: %s", got.code, got.body)
	}
	if len(body.Undo) != 1 || !failed(body.Undo) || c.started[len(c.started)-1].WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE {
		t.Errorf("asked again: undo %+v; want fin-ws-050 only, in a new rollback", body.Undo)
	}
	// Once the release failed before the rollback started, that rollback
	// planned it: answered with it.
	c.rbStart = continuedStart.Add(80 * time.Minute)
	got = serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	if got.code >= 300 || c.started[len(c.started)-1].WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE {
		t.Errorf("asked after a rollback that started after the failed release: status %d: %s; want that rollback reused", got.code, got.body)
	}
}

// The release of the hold r-b inherited (fin-ws-042 and fin-ws-043)
// failed at 10:15; a later step of r-b unisolated fin-ws-042 at 10:20
// (the playbook's release step), and an analyst isolated it again by hand
// to investigate. The rollback planned the inherited hold's unisolation of
// fin-ws-042 all the same, after undoing release_host, and so lifted the
// analyst's isolation: a target a later step of the run undid is no
// longer the hold's (undoneBy, for a hold not yet released), and the
// rollback undoes that step instead (release_host's own call). And
// fin-ws-043, which a contain step of r-b took over after that failure
// (it found the isolation in place, the earlier run's: tookOver, for a
// hold not yet released), is undone by that step's own call: planned
// once, not a second time as inherited.
func TestRollbackLeavesInheritedTargetsTheRunActedOnAfterAFailedRelease(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	c := newContinuedClient(t)
	c.current, c.continued = "r-b", true
	at := func(m int) *time.Time { v := continuedStart.Add(time.Duration(m) * time.Minute); return &v }
	run := c.runs["r-b"]
	run.holds[1]["released_at"], run.holds[1]["error"] = at(75), "[HTTP 503]"
	run.holds[1]["targets"] = []map[string]any{{"hostname": "fin-ws-042"}, {"hostname": "fin-ws-043"}}
	run.steps = append(run.steps,
		workflows.StepResult{ID: "release_host", Action: "defender.unisolate_machine", Status: playbook.StatusSucceeded,
			Params: map[string]any{"hostname": "fin-ws-042"}, EndedAt: at(80)},
		workflows.StepResult{ID: "isolate_again", Action: "defender.isolate_machine", Status: playbook.StatusSucceeded,
			Params: map[string]any{"hostname": "fin-ws-043"}, EndedAt: at(85)})
	c.runs["r-b"] = run
	srv.Temporal = c
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	var body rollbackBody
	if got.code != http.StatusAccepted || json.Unmarshal([]byte(got.body), &body) != nil {
		t.Fatalf("status %d: %s", got.code, got.body)
	}
	var steps []string
	for _, u := range body.Undo {
		steps = append(steps, fmt.Sprintf("%s %s %s", u.Step, u.Undo, u.Params["hostname"]))
	}
	want := []string{"isolate_again defender.unisolate_machine fin-ws-043", "release_host defender.isolate_machine fin-ws-042", "isolate defender.unisolate_machine fin-ws-077"}
	if !slices.Equal(steps, want) {
		t.Errorf("undo %q; want %q: nothing inherited (release_host undid fin-ws-042, isolate_again took fin-ws-043 over)", steps, want)
	}

	// isolate_again's own contain_for has released fin-ws-043 since (an
	// analyst may have isolated it again): neither its call nor the
	// inherited hold it took over is undone.
	run.holds = append(run.holds, map[string]any{"step": "isolate_again", "undo": "defender.unisolate_machine", "until": at(95), "released_at": at(95)})
	c.runs["r-b"] = run
	c.started, c.inputs = nil, nil // no rollback before
	got = serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	body = rollbackBody{}
	if got.code != http.StatusAccepted || json.Unmarshal([]byte(got.body), &body) != nil {
		t.Fatalf("status %d: %s", got.code, got.body)
	}
	steps = nil
	for _, u := range body.Undo {
		steps = append(steps, fmt.Sprintf("%s %s %s", u.Step, u.Undo, u.Params["hostname"]))
	}
	if want := want[1:]; !slices.Equal(steps, want) {
		t.Errorf("once isolate_again's hold released fin-ws-043: undo %q; want %q", steps, want)
	}
}

// r-b was cancelled, its result recorded by a worker of an earlier
// release, whose holds did not name their targets: the rollback cannot
// plan its inherited holds. It listed the one not released among the holds
// "left in place until its release" (until 13:00; riposte extend moves
// it), a release that never comes — the run has ended — and left out the
// one whose release failed altogether: the answer read as if nothing
// inherited stayed isolated for good. Each is listed with why nothing
// releases it, for an analyst to undo by hand.
func TestRollbackOfEndedRunSaysWhatInheritedHoldsWithoutTargetsStayInPlace(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	c := newContinuedClient(t)
	c.current, c.continued = "r-b", true
	c.ended = map[string]enumspb.WorkflowExecutionStatus{"r-b": enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED}
	run := c.runs["r-b"]
	failedAt := continuedStart.Add(45 * time.Minute)
	delete(run.holds[1], "targets")
	run.holds = append(run.holds, map[string]any{"step": workflows.InheritedPrefix + "quarantine", "undo": "defender.unisolate_machine",
		"until": failedAt, "released_at": failedAt, "error": "[HTTP 503]", "inherited_from": "r-a"})
	c.runs["r-b"] = run
	srv.Temporal = c
	got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`))
	var body rollbackBody
	if got.code != http.StatusAccepted || json.Unmarshal([]byte(got.body), &body) != nil {
		t.Fatalf("status %d: %s", got.code, got.body)
	}
	if len(body.Undo) != 1 || body.Undo[0].Step != "isolate" {
		t.Errorf("undo %+v; want r-b's own isolation only (the inherited holds name no targets)", body.Undo)
	}
	var raw struct {
		Left []map[string]any `json:"inherited_holds_left"`
	}
	_ = json.Unmarshal([]byte(got.body), &raw)
	var why []string
	for _, h := range raw.Left {
		why = append(why, fmt.Sprintf("%s: %v", h["step"], h["not_released"]))
	}
	if len(why) != 2 || !strings.Contains(why[0], "the run has ended") || !strings.Contains(why[1], "its release failed") ||
		!strings.Contains(why[0], "undo it by hand") || !strings.Contains(why[1], "undo it by hand") {
		t.Errorf("inherited_holds_left %q; want both holds, each saying why nothing releases it and to undo it by hand", why)
	}
}
