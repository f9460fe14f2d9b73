package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/workflows"
)

const containThenContain = `apiVersion: riposte/v1
name: twocontain
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: crowdstrike.contain_host
    with: {hostname: "fin-ws-042"}
    approval: auto
  - id: suspend
    action: okta.suspend_user
    needs: [isolate]
    with: {user: "j.doe@example.com"}
    approval: auto
`

// README (revision 8): the contain call in flight when the run is
// cancelled finishes and is recorded, then the run ends: the steps that
// need it, ready once it succeeded, are skipped ("run cancelled"). The
// first build of revision 8 started them, and a contain step among them
// (approval: auto, its guardrail check inside its call) ran its call on
// the same disconnected context: the run suspended a user after the
// operator cancelled it.
func TestCancelledRunStartsNoLaterContainStep(t *testing.T) {
	h := newHarness(t)
	h.rev = workflows.LatestRev
	allowPolicy(h)
	f := &gateFake{}
	f.register(h.env)
	var mu sync.Mutex
	var calls []string
	h.action("crowdstrike.contain_host", func(_ context.Context, c catalog.Call) (map[string]any, error) {
		mu.Lock()
		calls = append(calls, "contain_host")
		mu.Unlock()
		go h.env.CancelWorkflow()
		time.Sleep(300 * time.Millisecond)
		return map[string]any{"device_id": "aid-1"}, nil
	})
	h.action("okta.suspend_user", func(_ context.Context, c catalog.Call) (map[string]any, error) {
		mu.Lock()
		calls = append(calls, "suspend_user")
		mu.Unlock()
		return map[string]any{}, nil
	})
	res, _ := h.run(compileYAML(t, containThenContain), det)
	if res == nil {
		t.Fatal("no result")
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("run %s; isolate %s; suspend %s (%s%s); calls %v", res.Status, stepOf(res, "isolate").Status,
		stepOf(res, "suspend").Status, stepOf(res, "suspend").Error, stepOf(res, "suspend").Reason, calls)
	if len(calls) != 1 {
		t.Errorf("calls %v after the run was cancelled during isolate's call: want contain_host only", calls)
	}
	if st := stepOf(res, "suspend"); st.Status != "skipped" {
		t.Errorf("suspend %s (%s%s), want skipped: not started when the run was cancelled", st.Status, st.Error, st.Reason)
	}
	if res.Status != workflows.RunCanceled {
		t.Errorf("run %s, want %s", res.Status, workflows.RunCanceled)
	}
}
