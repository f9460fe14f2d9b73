package playbook_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// FuzzParse: Parse + Compile must never panic, and must return either a
// compiled playbook or at least one diagnostic, each with a 1-based position.
// A compiled playbook must also survive the JSON trip to the workflow.
func FuzzParse(f *testing.F) {
	// Seeds: the testdata playbooks (all small) and a few odd shapes.
	for _, pattern := range []string{"testdata/valid/*.yaml", "testdata/invalid/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
	for _, s := range []string{
		"",
		"---",
		"a: &a [*a]",
		"steps: [{with: {x: &x [1, 2]}}, {with: {y: *x}}]",
		"apiVersion: riposte/v1\nname: x\nversion: 1\ntrigger: {when: 'true'}\nsteps: [{id: a, action: core.noop, if: \"${{\"}]",
		"trigger:\n  when: |\n    a &&\n    b >< 1\n",
		"trigger: {when: \"a \\u00e9 \\\n b\"}",
	} {
		f.Add([]byte(s))
	}
	cat := testCatalog(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		pb, diags := playbook.Parse("f.yaml", src)
		if pb == nil {
			if len(diags) == 0 {
				t.Fatal("Parse returned no playbook and no diagnostics")
			}
			checkFuzzDiags(t, diags)
			return
		}
		c, cdiags := playbook.Compile(pb, cat, playbook.Digest(src))
		diags = append(diags, cdiags...)
		if len(diags) > 0 {
			checkFuzzDiags(t, diags)
			return
		}
		if c == nil {
			t.Fatal("Compile returned no playbook and no diagnostics")
		}
		b, err := json.Marshal(pb)
		if err != nil {
			return // e.g. a .nan in `with`; JSON cannot hold it
		}
		var back playbook.Playbook
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("JSON round trip: %v\n%s", err, b)
		}
		if _, diags := playbook.Compile(&back, cat, ""); diags != nil {
			t.Fatalf("the JSON copy does not compile: %v\n%s", diags, b)
		}
	})
}

func checkFuzzDiags(t *testing.T, diags playbook.Diagnostics) {
	t.Helper()
	for _, d := range diags {
		if d.Line < 1 || d.Col < 1 || d.Message == "" || d.File != "f.yaml" {
			t.Fatalf("bad diagnostic %#v", d)
		}
	}
}
