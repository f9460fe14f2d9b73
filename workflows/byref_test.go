package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/pbstore"
	"github.com/riposte-dev/riposte/workflows"
)

// A run started by reference executes the exact version its digest names,
// loaded from the worker's store: the result says which.
func TestRunByReference(t *testing.T) {
	c := compileYAML(t, dagPlaybook)
	store, err := pbstore.New(activities.Catalog(), pbstore.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Add(c); err != nil {
		t.Fatal(err)
	}
	h := newHarnessStore(t, store)
	h.action("core.noop", func(ctx context.Context, call catalog.Call) (map[string]any, error) { return call.Params, nil })
	h.env.ExecuteWorkflow("dag", workflows.Input{Detection: det, PlaybookRef: &workflows.PlaybookRef{Name: "dag", Version: 1, Digest: c.Digest}})
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.Result
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	wantStatuses(t, &res, map[string]string{"a": "succeeded", "b": "succeeded", "c": "succeeded", "d": "succeeded"})
	if res.Playbook != "dag" || res.Version != 1 || res.Digest != c.Digest {
		t.Errorf("result names %s v%d %s, want dag v1 %s", res.Playbook, res.Version, res.Digest, c.Digest)
	}
}

// A run whose version the worker does not have fails at once, with a
// non-retryable error naming the playbook, version and digest and saying
// what to do.
func TestRunByReferenceMissingVersion(t *testing.T) {
	store, err := pbstore.New(activities.Catalog(), pbstore.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	digest := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name  string
		store workflows.PlaybookStore
		want  string
	}{
		{"not in the store", store, "playbook version not in the store"},
		{"no store", nil, "this worker has no playbook store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessStore(t, tc.store)
			h.env.ExecuteWorkflow("dag", workflows.Input{Detection: det, PlaybookRef: &workflows.PlaybookRef{Name: "dag", Version: 3, Digest: digest}, Rev: workflows.CurrentRev})
			err := h.env.GetWorkflowError()
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) {
				t.Fatalf("want an application error, got %v", err)
			}
			if ae.Type() != "PlaybookUnavailable" || !ae.NonRetryable() { // README names the type
				t.Errorf("type %q non-retryable %v, want %s non-retryable", ae.Type(), ae.NonRetryable(), workflows.ErrPlaybookUnavailable)
			}
			for _, want := range []string{"playbook dag version 3", "digest " + digest, tc.want, "RIPOSTE_PLAYBOOKS", "RIPOSTE_PLAYBOOK_STORE", digest + ".yaml", "submit the detection again"} {
				if !strings.Contains(ae.Message(), want) {
					t.Errorf("message lacks %q: %s", want, ae.Message())
				}
			}
		})
	}
}

// The digest must name the version the run asks for: a reference whose
// name or version differs from the stored playbook's is refused.
func TestRunByReferenceWrongName(t *testing.T) {
	c := compileYAML(t, dagPlaybook)
	store, err := pbstore.New(activities.Catalog(), pbstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Add(c); err != nil {
		t.Fatal(err)
	}
	h := newHarnessStore(t, store)
	h.env.ExecuteWorkflow("dag", workflows.Input{Detection: det, PlaybookRef: &workflows.PlaybookRef{Name: "dag", Version: 2, Digest: c.Digest}})
	err = h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "is playbook dag v1, not dag v2") {
		t.Errorf("want a refusal naming both versions, got %v", err)
	}
}
