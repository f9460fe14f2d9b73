package activities

import (
	"os"
	"path/filepath"
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
