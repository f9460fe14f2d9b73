package e2e

import (
	"net/url"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/lab"
)

// README (Undo): a reset run claims what it finds in place "when the run it
// was reset from made the same call and applied it". A reset of a reset
// (the operator resets the run twice: A, reset to B, B reset to C) is
// reset from B. The workflow named workflow.Info.OriginalRunID, which
// Temporal preserves across resets ("A workflow reset changes the
// execution run_id, but preserves this field": the first run of the
// chain, A), so C read A's history, not B's. Here A's block was refused
// by the firewall (applied nothing), B applied the block, and C, reset
// from B, found B's block in place, read A, and marked it preexisting:
// the run holds nothing, its contain_for never releases the block, and
// riposte rollback answers 409 — B's containment is orphaned.
func TestResetOfResetReadsTheRunItWasResetFrom(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// Run A: the firewall refuses its block; A applies nothing.
	h.sys.Lab.InjectFault(lab.PANOS, lab.Fault{Status: 403, Times: 1000})
	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"reset-reset-1"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.93"},"unmapped":{"hold_case":true}}`)
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-hold")
	var d workflowsDetail
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(150 * time.Millisecond) {
		d = h.runDetail(t, wid)
		if len(d.Steps) == 1 && d.Steps[0].EndedAt != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run A never ended its block step: %+v", d)
		}
	}
	if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 0 {
		t.Fatalf("run A's refused block left %v blocked: the premise fails", blocked)
	}
	runA := d.RunID
	h.sys.Lab.ClearFaults()

	// Reset A -> B: B applies the block itself.
	d = resetToFirstTask(t, h, c, wid, runA)
	out, _ := d.Steps[0].Output.(map[string]any)
	if pre, _ := out[catalog.OutputPreexisting].(bool); pre || d.Steps[0].Status != "succeeded" {
		t.Fatalf("run B: block %s output %v: want B to apply it (the premise fails)", d.Steps[0].Status, out)
	}
	if blocked := h.sys.Lab.State().BlockedIPs; len(blocked) != 1 {
		t.Fatalf("after run B, blocked %v: the premise fails", blocked)
	}
	runB := d.RunID

	// Reset B -> C: C finds B's block in place; B applied it, so it is the
	// run's own.
	d = resetToFirstTask(t, h, c, wid, runB)
	out, _ = d.Steps[0].Output.(map[string]any)
	t.Logf("run C (reset from B %s, B reset from A %s): status %s, block %s, output %v, holds %+v", runB, runA, d.Status, d.Steps[0].Status, out, d.Holds)
	if pre, _ := out[catalog.OutputPreexisting].(bool); pre {
		t.Errorf("run C, reset from run B which applied the block, marked it preexisting (it read the chain's first run A, whose block was refused): the block is held by no run and never released")
	}
	if len(d.Holds) != 1 {
		t.Errorf("run C holds %+v: want B's block held for its contain_for (B's timer died with the reset)", d.Holds)
	}
	// The run view reads the same record: C was reset from B, not A; each
	// run reset names the run its reset started.
	if d.ResetFrom == nil || d.ResetFrom.RunID != runB {
		t.Errorf("run C: reset_from %+v, want run B %s (not the chain's first run A %s)", d.ResetFrom, runB, runA)
	}
	if a, b := h.runDetailOf(t, wid, runA), h.runDetailOf(t, wid, runB); a.ResetTo != runB || b.ResetTo != d.RunID || b.ResetFrom == nil || b.ResetFrom.RunID != runA {
		t.Errorf("run A reset_to %q (want B %s); run B reset_to %q (want C %s), reset_from %+v (want A)", a.ResetTo, runB, b.ResetTo, d.RunID, b.ResetFrom)
	}
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("USOC"), `{}`)
	if code != 202 && code != 200 {
		t.Errorf("rollback of run C: %d %s; want it to undo the block its chain applied", code, b)
	}
}
