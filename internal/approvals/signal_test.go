package approvals

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc"

	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// signalRecorder is a Temporal client that records the signals sent to
// it, through the SDK's SignalWorkflow or the raw service call.
type signalRecorder struct {
	client.Client
	svc *signalService
	sdk []workflows.Decision
}

type signalService struct {
	workflowservice.WorkflowServiceClient
	reqs []*workflowservice.SignalWorkflowExecutionRequest
}

func (s *signalService) SignalWorkflowExecution(_ context.Context, r *workflowservice.SignalWorkflowExecutionRequest, _ ...grpc.CallOption) (*workflowservice.SignalWorkflowExecutionResponse, error) {
	s.reqs = append(s.reqs, r)
	return &workflowservice.SignalWorkflowExecutionResponse{}, nil
}

func (c *signalRecorder) WorkflowService() workflowservice.WorkflowServiceClient { return c.svc }

func (c *signalRecorder) SignalWorkflow(_ context.Context, _, _, _ string, arg any) error {
	c.sdk = append(c.sdk, arg.(workflows.Decision))
	return nil
}

// TestSignalOfAnInteractionHasItsRequestID: a decision naming the act that
// made it (Decision.Interaction), queued as a signal, carries a request id
// derived from that act and the run, the same on every replica (two
// Services here), so that Temporal records it once; another act, or
// another run, has another. Its input is the decision encoded with the
// Service's DataConverter (the payload codec's), its identity the SDK
// client's default. A decision naming no act goes through the SDK's
// SignalWorkflow (a random request id), as before.
func TestSignalOfAnInteractionHasItsRequestID(t *testing.T) {
	keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("approvals decision key, 32 byte!")})
	if err != nil {
		t.Fatal(err)
	}
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), converter.NewZlibCodec(converter.ZlibCodecOptions{AlwaysEncode: true}))
	c := &signalRecorder{svc: &signalService{}}
	replicaA := &Service{Client: c, Namespace: "default", Keys: keys, DataConverter: dc}
	replicaB := &Service{Client: c, Namespace: "default", Keys: keys, DataConverter: dc}
	const act = "0f4c2a9e5b7d3c1a8e6f4b2d0c9a7e5f3b1d8c6a4e2f0b9d7c5a3e1f8b6d4c2a"
	d := workflows.Decision{GateID: "isolate", Approve: true, User: "U0G9QF9C6", Via: workflows.ViaSlack, Interaction: act}
	ctx := context.Background()
	for _, s := range []*Service{replicaA, replicaB} {
		if err := s.Send(ctx, "det-7f3a9c", d); err != nil {
			t.Fatal(err)
		}
	}
	other := d
	other.Interaction = "1" + act[1:]
	if err := replicaA.signal(ctx, "det-7f3a9c", "", other); err != nil {
		t.Fatal(err)
	}
	if err := replicaA.signal(ctx, "det-7f3a9c", "0b9e6c3a-2f4d-4e8a-9c1b-7d5f3a1e9c2b", d); err != nil {
		t.Fatal(err)
	}
	reqs := c.svc.reqs
	if len(reqs) != 4 || len(c.sdk) != 0 {
		t.Fatalf("%d raw signals, %d through the SDK; want 4 raw", len(reqs), len(c.sdk))
	}
	if reqs[0].GetRequestId() == "" || reqs[0].GetRequestId() != reqs[1].GetRequestId() {
		t.Errorf("request ids of the same act queued by two replicas: %q, %q; want the same", reqs[0].GetRequestId(), reqs[1].GetRequestId())
	}
	if reqs[2].GetRequestId() == reqs[0].GetRequestId() {
		t.Errorf("another act has the same request id %q", reqs[2].GetRequestId())
	}
	if reqs[3].GetRequestId() == reqs[0].GetRequestId() {
		t.Errorf("the act sent to a given run has the request id %q of the one sent to whichever runs", reqs[3].GetRequestId())
	}
	host, _ := os.Hostname()
	r := reqs[0]
	if r.GetNamespace() != "default" || r.GetWorkflowExecution().GetWorkflowId() != "det-7f3a9c" || r.GetWorkflowExecution().GetRunId() != "" ||
		r.GetSignalName() != workflows.SignalDecide || r.GetIdentity() != fmt.Sprintf("%d@%s@", os.Getpid(), host) {
		t.Errorf("signal request: %+v", r)
	}
	if reqs[3].GetWorkflowExecution().GetRunId() != "0b9e6c3a-2f4d-4e8a-9c1b-7d5f3a1e9c2b" {
		t.Errorf("signal for a run sent to %+v", reqs[3].GetWorkflowExecution())
	}
	if p := r.GetInput().GetPayloads(); len(p) != 1 || string(p[0].GetMetadata()["encoding"]) != "binary/zlib" {
		t.Fatalf("input not encoded with the Service's DataConverter: %+v", r.GetInput())
	}
	var got workflows.Decision
	if err := dc.FromPayloads(r.GetInput(), &got); err != nil {
		t.Fatal(err)
	}
	if got.User != d.User || got.GateID != d.GateID || !got.Approve || got.Seal == nil || got.Interaction != "" {
		t.Errorf("decoded decision %+v", got)
	}

	// No act named: the SDK's SignalWorkflow.
	d.Interaction = ""
	if err := replicaA.Send(ctx, "det-7f3a9c", d); err != nil {
		t.Fatal(err)
	}
	if len(c.sdk) != 1 || len(c.svc.reqs) != 4 {
		t.Errorf("a decision naming no act: %d through the SDK, %d raw; want it through the SDK", len(c.sdk), len(c.svc.reqs))
	}
}

// updateTimesOut is signalRecorder whose Updates fail as the SDK fails an
// Update call whose gRPC request ended with DeadlineExceeded or Canceled
// before the caller's context did (its rpc deadline fires a moment before
// that context's own timer; the server resets the stream).
type updateTimesOut struct{ signalRecorder }

func (c *updateTimesOut) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, client.NewWorkflowUpdateServiceTimeoutOrCanceledError(errors.New("context deadline exceeded"))
}

// TestDecideQueuesWhenTheUpdateCallTimesOut: when the SDK says the Update
// call timed out or was cancelled (no worker took it) while the caller's
// context is still live, the decision is queued as a signal (ErrQueued):
// the person is not told "not recorded" about a vote the server may
// still deliver to the run when a worker comes back.
func TestDecideQueuesWhenTheUpdateCallTimesOut(t *testing.T) {
	keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("approvals decision key, 32 byte!")})
	if err != nil {
		t.Fatal(err)
	}
	c := &updateTimesOut{signalRecorder{svc: &signalService{}}}
	s := &Service{Client: c, Namespace: "default", Keys: keys}
	d := workflows.Decision{GateID: "isolate", Approve: true, User: "U0G9QF9C6", Via: workflows.ViaSlack, Interaction: "0f4c2a9e5b7d3c1a8e6f4b2d0c9a7e5f3b1d8c6a4e2f0b9d7c5a3e1f8b6d4c2a"}
	if _, err := s.Decide(context.Background(), "det-7f3a9c", d); !errors.Is(err, ErrQueued) {
		t.Fatalf("Decide: %v, want it queued", err)
	}
	if len(c.svc.reqs) != 1 {
		t.Errorf("%d signals, want the decision queued as one", len(c.svc.reqs))
	}
}
