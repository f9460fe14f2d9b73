package api

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// failedRunClient knows one failed playbook run whose failure details (its
// step results) are encrypted with a key this process does not hold; the
// steps query answers as a worker without that key does.
type failedRunClient struct {
	client.Client // nil: only the methods below are used
	err           error
}

func (c *failedRunClient) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if id != "w1" {
		return nil, serviceerror.NewNotFound("no such run")
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "r1"},
		Type:      &commonpb.WorkflowType{Name: workflows.PlaybookWorkflow},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_FAILED,
		StartTime: timestamppb.Now(),
		CloseTime: timestamppb.Now(),
	}}, nil
}

func (c *failedRunClient) GetWorkflow(_ context.Context, id, runID string) client.WorkflowRun {
	return errRun{fakeRun: fakeRun{id: id, runID: runID}, err: c.err}
}

func (c *failedRunClient) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	// A worker without the key cannot decode the run's input, so the run
	// never registers its queries when it is replayed.
	return nil, errors.New("unknown queryType steps. KnownQueryTypes=[__stack_trace __open_sessions __temporal_workflow_metadata]")
}

type errRun struct {
	fakeRun
	err error
}

func (r errRun) Get(context.Context, any) error { return r.err }

func newKeyring(t *testing.T, id string) *codec.Keyring {
	t.Helper()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	k, err := codec.NewKeyring(id, map[string][]byte{id: raw})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestFailedRunWithUnknownKeySaysWhichKey: the codec promises errors that
// name the missing key ("unknown key "k1": the keyring holds only k9; add
// that key to the key file"), the one thing to fix after a key file lost
// an old key (docs/operations.md, Codec key rotation). For a failed run,
// the detail dropped that error (the failure details were decoded with
// the error ignored) and showed the steps query's instead, "unknown
// queryType steps", which names nothing an operator can act on.
func TestFailedRunWithUnknownKeySaysWhichKey(t *testing.T) {
	old, cur := newKeyring(t, "k1"), newKeyring(t, "k9")
	// The worker failed the run with its step results as details,
	// encrypted with k1.
	wdc := codec.NewDataConverter(old)
	runErr := temporal.NewApplicationErrorWithOptions("run failed", workflows.ErrRunFailed, temporal.ApplicationErrorOptions{
		Details: []any{workflows.Result{Steps: []workflows.StepResult{{ID: "isolate", Status: playbook.StatusFailed}}}}})
	failure := codec.NewFailureConverter(wdc).ErrorToFailure(runErr)
	// serve holds only k9.
	readErr := codec.NewFailureConverter(codec.NewDataConverter(cur)).FailureToError(failure)

	s := &Server{Temporal: &failedRunClient{err: readErr}, Namespace: "default"}
	d, err := s.Run(context.Background(), "w1", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Error, `"k1"`) || strings.Contains(d.Error, "queryType") {
		t.Errorf("run detail error %q; want the codec's, naming the missing key k1", d.Error)
	}
}
