package activities

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/policy"
)

// TestPolicyReloadAfterSameTickWrite: an in-place save (truncate, then
// write) may be seen by a check between its two writes, and both writes
// often get the same mtime (the kernel's coarse clock ticks every few ms).
// The worker must read the file again rather than keep what it saw: here
// an empty file (no guardrails at all), or a same-size edit, while
// policy.yaml on disk protects dc-*. Once the file is older than the
// timestamp granularity, an unchanged stat is trusted again.
func TestPolicyReloadAfterSameTickWrite(t *testing.T) {
	protects := func(g *Guardrails) bool {
		d := g.current().Evaluate(policy.Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "dc-01"}, Auto: true, Facts: &policy.Facts{}}, false)
		return d.Rule == "protected_asset"
	}
	write := func(t *testing.T, path, src string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	const full = "protected: {hosts: [\"dc-*\"]}\n"
	for _, tc := range []struct{ name, first string }{
		{"truncated, then written", ""},
		{"same size, same tick", "protected: {hosts: [\"xx-*\"]}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "policy.yaml")
			write(t, path, full, time.Now().Add(-time.Hour))
			g, err := NewGuardrails(nil, "q", path, nil)
			if err != nil {
				t.Fatal(err)
			}
			tick := time.Now().Truncate(4 * time.Millisecond)
			write(t, path, tc.first, tick)
			if protects(g) { // a check lands between the two writes
				t.Fatal("the first write was not read")
			}
			write(t, path, full, tick) // same clock tick
			if !protects(g) {
				t.Error("policy.yaml protects dc-*, the worker's policy allows dc-01")
			}
		})
	}
	// A file older than the granularity is read once, then trusted.
	path := filepath.Join(t.TempDir(), "policy.yaml")
	old := time.Now().Add(-time.Hour)
	write(t, path, full, old)
	g, err := NewGuardrails(nil, "q", path, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := g.current()
	write(t, path, "protected: {hosts: [\"xx-*\"]}\n", old) // same stat: not re-read
	if g.current() != before {
		t.Error("a settled file with an unchanged stat was read again")
	}
}

// An edit that makes policy.yaml invalid is logged once and the previous
// policy stays in force (a typo must not drop every guardrail); the next
// valid edit is taken.
func TestPolicyInvalidEditKeepsThePrevious(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	write := func(src string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	hostRule := func(g *Guardrails, host string) string {
		return g.current().Evaluate(policy.Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": host}, Auto: true, Facts: &policy.Facts{}}, false).Rule
	}
	write("protected: {hosts: [\"dc-*\"]}\n", time.Now().Add(-time.Hour))
	var logs bytes.Buffer
	g, err := NewGuardrails(nil, "q", path, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if hostRule(g, "dc-01") != "protected_asset" {
		t.Fatal("the first policy is not in force")
	}
	if g.SafeModeTTL != 2*time.Second { // README: the switch is cached for 2 s
		t.Errorf("SafeModeTTL = %v", g.SafeModeTTL)
	}
	write("protected: {hosts: [\"db-*\"]}\nconfidence_floor: high\n", time.Now().Add(-30*time.Minute))
	for range 3 {
		if hostRule(g, "dc-01") != "protected_asset" || hostRule(g, "db-01") != "" {
			t.Fatal("an invalid edit replaced the policy")
		}
	}
	if n := strings.Count(logs.String(), "policy file is invalid; keeping the previous policy"); n != 1 || !strings.Contains(logs.String(), "confidence_floor must be an integer") {
		t.Errorf("logged %d times, want once with the problem:\n%s", n, logs.String())
	}
	write("protected: {hosts: [\"db-*\"]}\n", time.Now().Add(-20*time.Minute))
	if hostRule(g, "db-01") != "protected_asset" || hostRule(g, "dc-01") != "" {
		t.Error("the next valid edit was not taken")
	}
}
