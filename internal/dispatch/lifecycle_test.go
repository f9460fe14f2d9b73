package dispatch

import (
	"bytes"
	"context"
	"os"
	"slices"
	"sync"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// runningClient keeps the runs it started and delivers signals to them
// only, as the server does (NotFound for a run that does not exist).
type runningClient struct {
	mu      sync.Mutex
	running map[string]bool
	signals []string
}

func (c *runningClient) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running[o.ID] {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "r1")
	}
	if c.running == nil {
		c.running = map[string]bool{}
	}
	c.running[o.ID] = true
	return startedRun{}, nil
}

func (c *runningClient) SignalWorkflow(_ context.Context, id, _, _ string, _ any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running[id] {
		return serviceerror.NewNotFound("workflow not found")
	}
	c.signals = append(c.signals, id)
	return nil
}

// Security Hub's record of a fixed control is Resolved and PASSED at once
// (ocsf/examples, testdata/real/securityhub-ec2-19-2001.ocsf.json): it
// withdraws the run its earlier FAILED record started. A passing result
// alone starts nothing and is not delivered.
func TestResolvedCompliancePassWithdrawsTheRunningRun(t *testing.T) {
	src, err := os.ReadFile("../intake/testdata/real/securityhub-ec2-19-2001.ocsf.json")
	if err != nil {
		t.Fatal(err)
	}
	parse := func() intake.Detection {
		dets, err := intake.Decode(bytes.NewReader(src), intake.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return dets[0]
	}
	failed := parse()
	failed["state_id"], failed["state"], failed["activity_id"] = 1, "New", 1
	failed["compliance"].(map[string]any)["status"] = "FAILED"
	passing := parse()
	passing["state_id"], passing["state"], passing["activity_id"] = 1, "New", 2
	resolved := parse()

	c, diags := playbook.LoadBytes("respond.yaml", []byte(`apiVersion: riposte/v1
name: respond
version: 1
trigger:
  when: finding.state == "active"
steps:
  - id: a
    action: core.noop
`), activities.Catalog())
	if diags != nil {
		t.Fatal(diags)
	}
	cl := &runningClient{}
	d := &Dispatcher{Client: cl, TaskQueue: "q"}
	d.SetPlaybooks(playbook.NewSet(c))
	out, err := d.Dispatch(context.Background(), 0, failed, Options{})
	if err != nil || len(out.Matched) != 1 || out.Matched[0].Deduplicated {
		t.Fatalf("FAILED record: %+v %v", out, err)
	}
	wid := out.Matched[0].WorkflowID

	out, err = d.Dispatch(context.Background(), 0, passing, Options{})
	if err != nil || out.State != "compliance_pass" || len(out.Signalled) != 0 || len(out.Matched) != 0 {
		t.Errorf("PASSED record without a withdrawal mark: state %q, matched %v, signalled %v, %v", out.State, out.Matched, out.Signalled, err)
	}
	out, err = d.Dispatch(context.Background(), 0, resolved, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out.State != "withdrawn" || !slices.Contains(out.Signalled, wid) {
		t.Errorf("Resolved + PASSED record: state %q, reason %q, signalled %v; want the run %s withdrawn", out.State, out.Reason, out.Signalled, wid)
	}
}
