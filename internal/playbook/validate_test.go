package playbook

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testCatalog is the shipped catalog plus typed actions, so that param type
// checks and contain_for can be exercised.
func testCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	var actions []catalog.Action
	for _, d := range activities.Definitions() {
		actions = append(actions, d.Action)
	}
	hostParams := []catalog.Param{
		{Name: "hostname", Type: catalog.TypeString, Required: true, Description: "Host to isolate."},
		{Name: "ports", Type: catalog.TypeList, Description: "Ports left open."},
		{Name: "priority", Type: catalog.TypeInt, Description: "1-5."},
		{Name: "isolate", Type: catalog.TypeBool, Description: "Full isolation."},
		{Name: "note", Type: catalog.TypeString, Description: "Free text."},
		{Name: "labels", Type: catalog.TypeObject, Description: "Key/values."},
		{Name: "ratio", Type: catalog.TypeNumber, Description: "A number."},
		{Name: "mode", Type: catalog.TypeString, Enum: []string{"network", "full"}, Description: "How."},
	}
	actions = append(actions,
		catalog.Action{Name: "edr.contain_host", Risk: catalog.RiskContain, Undo: "edr.release_host", Vendor: "edr", Params: hostParams},
		catalog.Action{Name: "edr.release_host", Risk: catalog.RiskContain, Undo: "edr.contain_host", Vendor: "edr", Params: hostParams},
		catalog.Action{Name: "intel.lookup_ip", Risk: catalog.RiskRead, Vendor: "intel", Params: []catalog.Param{
			{Name: "ip", Type: catalog.TypeString, Required: true},
		}},
		catalog.Action{Name: "edr.status", Risk: catalog.RiskRead, Vendor: "edr"},
	)
	cat, err := catalog.New(actions...)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestInvalidGolden checks the exact diagnostics of every broken playbook in
// testdata/invalid against its .golden file. Run with -update to rewrite them
// (and then read every changed golden by eye).
func TestInvalidGolden(t *testing.T) {
	cat := testCatalog(t)
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("only %d files in testdata/invalid", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.ToSlash(file)
			c, diags := LoadBytes(file, src, cat)
			if c != nil || len(diags) == 0 {
				t.Fatalf("playbook is valid; every file in testdata/invalid must fail")
			}
			checkDiagPositions(t, file, src, diags)
			got := diags.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// checkDiagPositions checks properties every diagnostic list must have: the
// right file, positions inside the source, sorted order and no repeats.
func checkDiagPositions(t *testing.T, file string, src []byte, diags Diagnostics) {
	t.Helper()
	lines := strings.Split(string(src), "\n")
	for i, d := range diags {
		if d.File != file {
			t.Errorf("diagnostic %d names file %q, want %q", i, d.File, file)
		}
		if d.Line < 1 || d.Col < 1 {
			t.Errorf("diagnostic %q has position %d:%d; want 1-based", d, d.Line, d.Col)
			continue
		}
		if d.Line > len(lines) {
			t.Errorf("diagnostic %q is past the last line (%d)", d, len(lines))
		} else if n := utf8.RuneCountInString(lines[d.Line-1]); d.Col > n+1 && !(d.Line == 1 && d.Col == 1) {
			t.Errorf("diagnostic %q is past the end of line %d (%d characters)", d, d.Line, n)
		}
		if d.Message == "" {
			t.Errorf("diagnostic %d has no message", i)
		}
		if i > 0 {
			p := diags[i-1]
			if p == d {
				t.Errorf("diagnostic %q is repeated", d)
			}
			if p.Line > d.Line || (p.Line == d.Line && p.Col > d.Col) {
				t.Errorf("diagnostics not sorted: %q before %q", p, d)
			}
		}
	}
}
