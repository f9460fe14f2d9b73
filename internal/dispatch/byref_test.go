package dispatch

import (
	"context"
	"reflect"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

type captureStarter struct{ inputs []workflows.Input }

type startedRun struct{ client.WorkflowRun }

func (startedRun) GetRunID() string { return "r1" }

func (c *captureStarter) ExecuteWorkflow(_ context.Context, _ client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	c.inputs = append(c.inputs, args[0].(workflows.Input))
	return startedRun{}, nil
}

// Runs carry a reference to their playbook version when the workers can
// load it (Rev), at the revision they all run, and the playbook itself
// otherwise.
func TestDispatchByReference(t *testing.T) {
	src := []byte(`apiVersion: riposte/v1
name: ref-test
version: 4
trigger:
  when: detection.severity_id >= 4
steps:
  - id: a
    action: core.noop
`)
	c, diags := playbook.LoadBytes("ref-test.yaml", src, activities.Catalog())
	if diags != nil {
		t.Fatal(diags)
	}
	det := intake.Detection{"class_uid": 2004, "severity_id": 5, "finding_info": map[string]any{"uid": "u1"}}
	for _, tc := range []struct {
		name    string
		rev     func(context.Context) int
		wantRev int
	}{
		{"no answer: inline", nil, workflows.CurrentRev},
		{"workers say no: inline", func(context.Context) int { return 0 }, workflows.CurrentRev},
		{"workers of the release before: reference, its revision", func(context.Context) int { return workflows.RevByReference }, workflows.RevByReference},
		{"workers of this release: reference, the latest revision", func(context.Context) int { return workflows.LatestRev }, workflows.LatestRev},
		{"a newer revision than this release's: this release's", func(context.Context) int { return workflows.LatestRev + 3 }, workflows.LatestRev},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &captureStarter{}
			d := &Dispatcher{Client: st, TaskQueue: "q", Rev: tc.rev}
			d.SetPlaybooks(playbook.NewSet(c))
			if _, err := d.Dispatch(context.Background(), 0, det, Options{}); err != nil {
				t.Fatal(err)
			}
			if len(st.inputs) != 1 {
				t.Fatalf("%d runs started", len(st.inputs))
			}
			in := st.inputs[0]
			if in.Rev != tc.wantRev {
				t.Errorf("rev %d, want %d", in.Rev, tc.wantRev)
			}
			if tc.wantRev >= workflows.RevByReference {
				if in.Playbook != nil || in.Digest != "" || in.PlaybookRef == nil || *in.PlaybookRef != (workflows.PlaybookRef{Name: "ref-test", Version: 4, Digest: playbook.Digest(src)}) {
					t.Errorf("input: playbook %v digest %q ref %+v", in.Playbook != nil, in.Digest, in.PlaybookRef)
				}
			} else if in.PlaybookRef != nil || in.Playbook == nil || in.Digest != playbook.Digest(src) {
				t.Errorf("input: playbook %v digest %q ref %+v", in.Playbook != nil, in.Digest, in.PlaybookRef)
			}
		})
	}
}

// The site's approval defaults (RIPOSTE_APPROVAL_TIMEOUT and the rest, read
// by serve) travel in every run's input, where the gates read them
// (workflows.TestGateTimeoutDefault).
func TestDispatchCarriesApprovalDefaults(t *testing.T) {
	c := lifecyclePlaybookNamed(t, "gated", "", "true")
	want := workflows.ApprovalDefaults{Users: []string{"UBOB"}, Groups: []string{"SSEC"}, Timeout: playbook.Duration(45 * time.Minute), Channel: "CSEC"}
	st := &captureStarter{}
	d := &Dispatcher{Client: st, TaskQueue: "q", Approval: want}
	d.SetPlaybooks(playbook.NewSet(c))
	det := intake.Detection{"class_uid": 2004, "severity_id": 5, "finding_info": map[string]any{"uid": "u1"}}
	if _, err := d.Dispatch(context.Background(), 0, det, Options{}); err != nil {
		t.Fatal(err)
	}
	if len(st.inputs) != 1 {
		t.Fatalf("%d runs started", len(st.inputs))
	}
	if got := st.inputs[0].Approval; !reflect.DeepEqual(got, want) {
		t.Errorf("input approval defaults %+v, want %+v", got, want)
	}
}

// riposte serve --playbook-input reference (Dispatcher.ByReference) passes
// the playbook by reference whatever the workers announce, at the revision
// they all run and at least RevByReference (README, Execution model:
// "`reference` and `inline` force either"): no worker known yet, or one
// that says it cannot, still gets a reference.
func TestDispatchByReferenceForced(t *testing.T) {
	src := []byte(`apiVersion: riposte/v1
name: ref-forced
version: 2
trigger:
  when: detection.severity_id >= 4
steps:
  - id: a
    action: core.noop
`)
	c, diags := playbook.LoadBytes("ref-forced.yaml", src, activities.Catalog())
	if diags != nil {
		t.Fatal(diags)
	}
	det := intake.Detection{"class_uid": 2004, "severity_id": 5, "finding_info": map[string]any{"uid": "u1"}}
	for _, tc := range []struct {
		name    string
		rev     func(context.Context) int
		wantRev int
	}{
		{"no worker known", func(context.Context) int { return -1 }, workflows.RevByReference},
		{"workers say no", func(context.Context) int { return 0 }, workflows.RevByReference},
		{"workers of this release", func(context.Context) int { return workflows.LatestRev }, workflows.LatestRev},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &captureStarter{}
			d := &Dispatcher{Client: st, TaskQueue: "q", Rev: tc.rev, ByReference: true}
			d.SetPlaybooks(playbook.NewSet(c))
			if _, err := d.Dispatch(context.Background(), 0, det, Options{}); err != nil {
				t.Fatal(err)
			}
			if len(st.inputs) != 1 {
				t.Fatalf("%d runs started", len(st.inputs))
			}
			in := st.inputs[0]
			if in.Rev != tc.wantRev {
				t.Errorf("rev %d, want %d", in.Rev, tc.wantRev)
			}
			if in.Playbook != nil || in.PlaybookRef == nil || *in.PlaybookRef != (workflows.PlaybookRef{Name: "ref-forced", Version: 2, Digest: playbook.Digest(src)}) {
				t.Errorf("input: playbook inline %v, ref %+v; want the reference only", in.Playbook != nil, in.PlaybookRef)
			}
		})
	}
}
