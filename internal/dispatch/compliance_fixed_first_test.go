package dispatch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// Security Hub's record of a control that passes is Resolved and PASSED
// (Security Hub sets Workflow.Status RESOLVED for every PASSED control
// finding, including its first record); when the control later fails, the
// same finding comes back FAILED and NEW. That passing record closes no
// earlier Create: it must not record a withdrawn run that swallows the
// failure that follows.
func TestPassedControlFirstDoesNotSwallowLaterFailure(t *testing.T) {
	ctx := context.Background()
	src, err := os.ReadFile(filepath.Join("..", "intake", "testdata", "real", "securityhub-ec2-19-2001.ocsf.json"))
	if err != nil {
		t.Fatal(err)
	}
	read := func() intake.Detection {
		dets, err := intake.Decode(strings.NewReader(string(src)), intake.DecodeOptions{MaxBytes: 4 << 20})
		if err != nil {
			t.Fatal(err)
		}
		return dets[0]
	}
	passed, failed := read(), read()
	failed["state_id"], failed["state"] = 1, "New"
	failed["compliance"].(map[string]any)["status"] = "FAILED"

	set, _, diags := playbook.Load([]string{filepath.Join("..", "..", "playbooks")}, activities.Catalog())
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	cl := &serverClient{}
	d := &Dispatcher{Client: cl, TaskQueue: "q", Rev: func(context.Context) int { return workflows.LatestRev }}
	d.SetPlaybooks(set)

	out, err := d.Dispatch(ctx, 0, passed, Options{Requester: "intake"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Recorded) != 0 {
		t.Errorf("passing control record: recorded %+v as withdrawn; it closes no earlier Create", out.Recorded)
	}
	for _, m := range out.Recorded {
		cl.end(m.WorkflowID)
	}
	out, err = d.Dispatch(ctx, 0, failed, Options{Requester: "intake"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Matched) == 0 || out.Deduplicated {
		t.Errorf("the control's later failure: %+v; want a run started (triage-low-confidence), not deduplicated to the passing record", out)
	}
}
