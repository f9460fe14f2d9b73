package deploy

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/test/harness"
)

// TestAlertRules checks deploy/prometheus/alerts.yml with Prometheus's own
// tool: `promtool check rules` (syntax, PromQL, templates) and `promtool
// test rules` (deploy/prometheus/alerts_test.yml: each alert fires on the
// series it is meant for, and not before its time). promtool is Debian's
// prometheus package; .ci/run installs it.
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		err = fmt.Errorf("promtool not installed (Debian package prometheus): %w", err)
	}
	harness.Require(t, err)
	dir := filepath.Join(root, "deploy", "prometheus")
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// The compose Prometheus loads the rules.
	cfg := string(readFile(t, "deploy/prometheus/prometheus.yml"))
	if !strings.Contains(cfg, "rule_files:") || !strings.Contains(cfg, "alerts.yml") {
		t.Error("deploy/prometheus/prometheus.yml does not load alerts.yml")
	}
	cmd := exec.Command(promtool, "check", "config", "prometheus.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}
