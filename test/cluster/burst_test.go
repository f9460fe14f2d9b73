package cluster_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/burst"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/test/cluster"
)

// TestClusterBurst is the burst test of the embedded server
// (test/e2e/burst_e2e_test.go, same body: burst.Check) on the
// production topology: PostgreSQL, the Temporal server, riposte serve and
// two riposte worker processes. 500 detections with a large budget (every
// host contained exactly once, none gated for guardrails_unavailable), then
// 500 more with a budget of 100 (exactly 100 contained, reserved by both
// workers; the rest gated for budget). The two bursts count against
// different budget rules ("*", then crowdstrike.contain_host), so the
// first does not use up the second's budget.
func TestClusterBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, Temporal and riposte processes")
	}
	const n = 500
	pbDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(pbDir, "burst.yaml"), []byte(burst.Playbook), 0o600); err != nil {
		t.Fatal(err)
	}
	c := cluster.Start(t, cluster.Options{Playbooks: pbDir, Policy: "budgets:\n  - {action: \"*\", max: 100000, per: 1h}\n"})
	c.Lab.AddHosts(burst.Hosts("large", n)...)
	c.Lab.AddHosts(burst.Hosts("b100", n)...)
	target := burst.Target{API: c.APIURL, Token: c.Token}
	calls := func() []lab.Call { return c.Lab.CallsFor(lab.CrowdStrike, "contain", "") }

	t.Run("large budget", func(t *testing.T) {
		burst.Check(t, target, burst.Options{N: n, Prefix: "large"}, 100000, calls)
	})
	t.Run("budget 100 on two workers", func(t *testing.T) {
		// The workers re-read policy.yaml when it changes.
		policy := filepath.Join(c.Dir, "etc", "riposte", "config", "policy.yaml")
		if err := os.WriteFile(policy, []byte("budgets:\n  - {action: crowdstrike.contain_host, max: 100, per: 1h}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(2 * time.Second)
		if err := os.Chtimes(policy, later, later); err != nil {
			t.Fatal(err)
		}
		burst.Check(t, target, burst.Options{N: n, Prefix: "b100"}, 100, calls)
		ids, err := burst.GuardUpdaters(context.Background(), c.Client(t), "crowdstrike.contain_host")
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) < 2 {
			t.Errorf("the budget guard got Updates from %v; want both workers", ids)
		}
		t.Logf("budget guard Updates by client: %v", ids)
	})
}
