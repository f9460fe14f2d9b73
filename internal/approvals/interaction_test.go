package approvals

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// updateRecorder is a Temporal client that records the Updates asked of
// it and refuses each (the outcome does not matter here).
type updateRecorder struct {
	client.Client
	updates []client.UpdateWorkflowOptions
}

func (c *updateRecorder) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	c.updates = append(c.updates, o)
	return nil, temporal.NewApplicationError("refused", "test")
}

// TestDecideSendsTheInteractionAsUpdateID: a decision naming the act that
// made it (Decision.Interaction: a Slack interaction) is delivered as the
// Temporal Update with that id, which Temporal runs once per run however
// many times, and on whichever replica, it arrives; a decision naming
// none leaves the id to the SDK (a new one each time), as before. The
// interaction is not part of the Update's argument (json "-").
func TestDecideSendsTheInteractionAsUpdateID(t *testing.T) {
	keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("approvals decision key, 32 byte!")})
	if err != nil {
		t.Fatal(err)
	}
	c := &updateRecorder{}
	s := &Service{Client: c, Namespace: "default", Keys: keys}
	for _, interaction := range []string{"slack:T0001:U0G9QF9C6:13345224609.738474920.8088930838d88f008e0:riposte_approve@1767323045.000200", ""} {
		_, err := s.Decide(context.Background(), "det-7f3a9c", workflows.Decision{GateID: "isolate", Approve: true, User: "U0G9QF9C6", Via: workflows.ViaSlack, Interaction: interaction})
		if !errors.Is(err, ErrRefused) {
			t.Fatalf("Decide: %v", err)
		}
	}
	if len(c.updates) != 2 {
		t.Fatalf("%d updates", len(c.updates))
	}
	if got := c.updates[0].UpdateID; got != "slack:T0001:U0G9QF9C6:13345224609.738474920.8088930838d88f008e0:riposte_approve@1767323045.000200" {
		t.Errorf("UpdateID %q, want the decision's interaction", got)
	}
	if got := c.updates[1].UpdateID; got != "" {
		t.Errorf("UpdateID %q for a decision naming no interaction, want the SDK's own", got)
	}
}
