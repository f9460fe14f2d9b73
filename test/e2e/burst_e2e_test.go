package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/burst"
	"github.com/riposte-dev/riposte/internal/cli"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/guardrails"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/test/harness"
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
	h := startDevForTest(t, filepath.Join(dir, "data"), func(o *cli.DevOptions) {
		o.Playbooks = pbDir
		o.Runtime.Policy = policy
		o.MaxBody = 1 << 20
	})
	t.Cleanup(h.sys.Close)
	h.sys.Lab.AddHosts(burst.Hosts("burst", burstSize)...)
	return h, burst.Target{API: h.baseURL, Token: h.token}
}

// A large budget: no run falls back to a human gate because the guard could
// not keep up, and every host is contained exactly once.
func TestBurstLargeBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, target := burstDev(t, 100000)
	burst.Check(t, target, burst.Options{N: burstSize, Prefix: "burst"}, 100000, func() []lab.Call { return h.sys.Lab.CallsFor(lab.CrowdStrike, "contain", "") })
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
	burst.Check(t, target, burst.Options{N: burstSize, Prefix: "burst"}, 100, func() []lab.Call { return h.sys.Lab.CallsFor(lab.CrowdStrike, "contain", "") })
	// GET /v1/policy (riposte policy status) reads the budget's guard.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st workflows.GuardState
		code, b := h.do("GET", "/v1/policy", h.token, "")
		if code == 200 && jsonUnmarshal(b, &st) == nil && len(st.Budgets["crowdstrike.contain_host"]) == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /v1/policy: %d %.300s; want 100 reservations of crowdstrike.contain_host", code, b)
		}
		time.Sleep(500 * time.Millisecond)
	}

	t.Run("two workers, 500 concurrent reservations, max 100", func(t *testing.T) {
		policyFile := filepath.Join(t.TempDir(), "policy.yaml")
		if err := os.WriteFile(policyFile, []byte("budgets:\n  - {action: sentinelone.disconnect_agent, max: 100, per: 1h}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var guards []*activities.Guardrails
		for i := range 2 {
			c := dialDev(t, h, fmt.Sprintf("guard-worker-%d", i+1))
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
		ids, err := burst.GuardUpdaters(context.Background(), guards[0].Client, "sentinelone.disconnect_agent")
		if err != nil {
			t.Fatal(err)
		}
		if ids["guard-worker-1"] == 0 || ids["guard-worker-2"] == 0 {
			t.Errorf("the budget guard got Updates from %v; want both workers", ids)
		}
		t.Logf("%d reservations in %d batched Updates: %v", n, ids["guard-worker-1"]+ids["guard-worker-2"], ids)
	})

	// Upgrading from the single riposte-guard workflow: the reservations it
	// holds still count in the budget guard that takes over.
	t.Run("upgrade keeps the single guard's reservations", func(t *testing.T) {
		ctx := context.Background()
		c := dialDev(t, h, "upgrade-test")
		for i := range 2 {
			r, err := guardrails.Reserve(ctx, c, workflows.DefaultTaskQueue, workflows.ReserveRequest{
				Budget: "okta.suspend_user", Key: fmt.Sprintf("old-run-%d/suspend", i), Max: 3, Per: time.Hour})
			if err != nil || !r.Granted {
				t.Fatalf("legacy reserve: %+v %v", r, err)
			}
		}
		policyFile := filepath.Join(t.TempDir(), "policy.yaml")
		if err := os.WriteFile(policyFile, []byte("budgets:\n  - {action: okta.suspend_user, max: 3, per: 1h}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		g, err := activities.NewGuardrails(c, workflows.DefaultTaskQueue, policyFile, nil)
		if err != nil {
			t.Fatal(err)
		}
		var rules []string
		for i := range 3 {
			d, err := g.Check(ctx, workflows.PolicyCheck{Request: policy.Request{WorkflowID: fmt.Sprintf("new-run-%d", i), StepID: "suspend",
				Action: "okta.suspend_user", Detection: map[string]any{"confidence_score": 90}, Auto: true}})
			if err != nil {
				t.Fatal(err)
			}
			rules = append(rules, d.Decision+"/"+d.Rule)
		}
		if fmt.Sprint(rules) != "[allow/budget gate/budget gate/budget]" {
			t.Errorf("after the upgrade: %v; want one slot left of 3", rules)
		}
	})
}

// dialDev is another client of the dev server (as another process would
// have), with the dev payload keys.
func dialDev(t *testing.T, h *devHarness, identity string) client.Client {
	t.Helper()
	co := client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: h.sys.Server.Namespace(), Logger: harness.QuietLogger{}, Identity: identity}
	codec.ConfigureClientOptions(&co, h.sys.Keys, codec.Options{})
	c, err := client.Dial(co)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
