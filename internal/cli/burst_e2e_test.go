package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/burst"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

// burstSize is the burst of issue 19: 500 distinct credential-dumping
// detections posted as fast as the API takes them.
const burstSize = 500

// burstDev starts riposte dev with the burst playbook, a policy whose
// budget of crowdstrike.contain_host is budget per hour and the burst's
// hosts on the lab.
func burstDev(t *testing.T, budget int) (*devHarness, burst.Target) {
	t.Helper()
	dir := t.TempDir()
	pbDir := filepath.Join(dir, "playbooks")
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.MkdirAll(pbDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pbDir, "burst.yaml"), []byte(burst.Playbook), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(policy, []byte(fmt.Sprintf("budgets:\n  - {action: crowdstrike.contain_host, max: %d, per: 1h}\n", budget)), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startDevForTest(t, filepath.Join(dir, "data"), func(o *devOptions) {
		o.Playbooks = pbDir
		o.Runtime.Policy = policy
		o.MaxBody = 1 << 20
	})
	t.Cleanup(h.sys.Close)
	h.sys.Lab.AddHosts(burst.Hosts("burst", burstSize)...)
	return h, burst.Target{API: h.baseURL, Token: h.token}
}

// runBurst is the burst test body: post, wait, verify on the lab.
func runBurst(t *testing.T, target burst.Target, budget int, calls func() []lab.Call) *burst.Result {
	t.Helper()
	res, err := burst.Burst(context.Background(), target, burst.Options{N: burstSize, Prefix: "burst", Logf: t.Logf})
	if err != nil {
		t.Fatalf("burst: %v", err)
	}
	t.Log(res.String())
	for _, p := range burst.Verify(res, budget, calls()) {
		t.Error(p)
	}
	return res
}

// A large budget: no run falls back to a human gate because the guard could
// not keep up, and every host is contained exactly once.
func TestBurstLargeBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, target := burstDev(t, 100000)
	runBurst(t, target, 100000, func() []lab.Call { return h.sys.Lab.CallsFor(lab.CrowdStrike, "contain", "") })
}

// Budget 100: exactly 100 automatic containments, the rest gated with
// reason budget, none for guardrails_unavailable. Then two workers (each its
// own client and guardrails, as two processes) make 500 concurrent
// reservations against a budget of 100: exactly 100 are granted.
func TestBurstBudget100(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, target := burstDev(t, 100)
	runBurst(t, target, 100, func() []lab.Call { return h.sys.Lab.CallsFor(lab.CrowdStrike, "contain", "") })

	t.Run("two workers, 500 concurrent reservations, max 100", func(t *testing.T) {
		policyFile := filepath.Join(t.TempDir(), "policy.yaml")
		if err := os.WriteFile(policyFile, []byte("budgets:\n  - {action: sentinelone.disconnect_agent, max: 100, per: 1h}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var guards []*activities.Guardrails
		for i := range 2 {
			co := client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: h.sys.Server.Namespace(), Logger: nopSDKLogger{},
				Identity: fmt.Sprintf("guard-worker-%d", i+1)}
			codec.ConfigureClientOptions(&co, h.sys.Keys)
			c, err := client.Dial(co)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			g, err := activities.NewGuardrails(c, workflows.DefaultTaskQueue, policyFile, nil)
			if err != nil {
				t.Fatal(err)
			}
			guards = append(guards, g)
		}
		const n = 500
		decisions := make([]policy.Decision, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				decisions[i], errs[i] = guards[i%2].Check(ctx, workflows.PolicyCheck{Request: policy.Request{
					WorkflowID: fmt.Sprintf("reservation-%03d", i), StepID: "disconnect", Action: "sentinelone.disconnect_agent",
					Params: map[string]any{"hostname": burst.Host("burst", i)}, Detection: map[string]any{"confidence_score": 90}, Auto: true}})
			}()
		}
		wg.Wait()
		granted, refused := 0, 0
		for i, d := range decisions {
			switch {
			case errs[i] != nil:
				t.Errorf("reservation %d: %v", i, errs[i])
			case d.Decision == policy.Allow && d.Rule == "budget":
				granted++
			case d.Decision == policy.Gate && d.Rule == "budget":
				refused++
			default:
				t.Errorf("reservation %d: %+v", i, d)
			}
		}
		if granted != 100 || refused != 400 {
			t.Errorf("%d granted, %d gated for budget; want exactly 100 and 400", granted, refused)
		}
		ids := guardUpdaters(t, h, workflows.BudgetGuardID("sentinelone.disconnect_agent"))
		if ids["guard-worker-1"] == 0 || ids["guard-worker-2"] == 0 {
			t.Errorf("the budget guard got Updates from %v; want both workers", ids)
		}
		t.Logf("%d reservations in %d batched Updates: %v", n, ids["guard-worker-1"]+ids["guard-worker-2"], ids)
	})
}

// guardUpdaters lists the client identities whose Updates a budget guard
// accepted, over all its runs (continue-as-new included).
func guardUpdaters(t *testing.T, h *devHarness, id string) map[string]int {
	t.Helper()
	ctx := context.Background()
	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: h.sys.Server.Namespace(), Logger: nopSDKLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", id)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range resp.Executions {
		it := c.GetWorkflowHistory(ctx, id, e.Execution.RunId, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			if a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil {
				out[a.GetAcceptedRequest().GetMeta().GetIdentity()]++
			}
		}
	}
	return out
}
