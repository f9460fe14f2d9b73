package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// gatedHoldPlaybook is holdPlaybook behind a human gate: its approval
// message is posted, so it follows the hold.
const gatedHoldPlaybook = `apiVersion: riposte/v1
name: hold
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: defender.isolate_machine
    with: {hostname: "${{ detection.device.hostname }}"}
    approval:
      approvers: {users: [UALICE, UBOB]}
      timeout: 30m
      on_timeout: deny
    contain_for: 4h
`

// The approval message says when the containment is released, and is
// updated after every extension with the new release time (README, Slack:
// "updated after every `riposte extend`").
func TestHoldMessageUpdatedAfterExtend(t *testing.T) {
	h := newHarness(t)
	h.action("defender.isolate_machine", func(_ context.Context, call catalog.Call) (map[string]any, error) { return call.Params, nil })
	h.action("defender.unisolate_machine", func(context.Context, catalog.Call) (map[string]any, error) { return map[string]any{}, nil })
	allowPolicy(h)
	f := &gateFake{}
	f.register(h.env)
	var vote string
	var errs []string
	h.vote(time.Minute, workflows.Decision{GateID: "isolate", Approve: true, User: "UBOB"}, &vote)
	h.extend(time.Hour, "x1", &workflows.ExtendRequest{Step: "isolate", By: playbook.Duration(2 * time.Hour), User: "USOC"}, &errs)
	h.extend(2*time.Hour, "x2", &workflows.ExtendRequest{Step: "isolate", By: playbook.Duration(30 * time.Minute), User: "USOC"}, &errs)
	res, err := h.run(compileYAML(t, gatedHoldPlaybook), det)
	if err != nil {
		t.Fatal(err)
	}
	if vote != "" || len(errs) != 0 {
		t.Fatalf("vote %q, extensions refused %v", vote, errs)
	}
	if len(res.Holds) != 1 || res.Holds[0].ReleasedAt == nil {
		t.Fatalf("holds = %+v", res.Holds)
	}
	// The messages that showed the hold while it was active, in order:
	// when holding began, then one per extension.
	var shown []time.Time
	for _, u := range f.updates {
		if u.Run == nil || u.Run.Status != workflows.RunHolding {
			continue
		}
		if u.Run.Hold == nil || u.Run.Hold.Step != "isolate" || u.Run.RunID != testWorkflowID {
			t.Errorf("holding message update without the hold: %+v", u.Run)
			continue
		}
		shown = append(shown, u.Run.Hold.Until)
	}
	if len(shown) != 3 {
		t.Fatalf("%d message updates showed the hold (%v), want 3: when holding began and after each of 2 extensions", len(shown), shown)
	}
	if d := shown[1].Sub(shown[0]); d != 2*time.Hour {
		t.Errorf("after the first extension the message shows %s, %s after the first release time; want 2h", shown[1], d)
	}
	if d := shown[2].Sub(shown[1]); d != 30*time.Minute {
		t.Errorf("after the second extension the message shows %s, %s after the previous one; want 30m", shown[2], d)
	}
	if !shown[2].Equal(res.Holds[0].Until) {
		t.Errorf("last release time shown %s, the hold's %s", shown[2], res.Holds[0].Until)
	}
	if last := f.updates[len(f.updates)-1]; last.Run == nil || last.Run.Status != workflows.RunSucceeded || last.Run.Hold == nil || last.Run.Hold.ReleasedAt == nil {
		t.Errorf("last message update %+v, want the ended run with its released hold", last.Run)
	}
	if !strings.Contains(strings.Join(res.Holds[0].Extensions, ";"), "USOC") {
		t.Errorf("extensions %v", res.Holds[0].Extensions)
	}
}
