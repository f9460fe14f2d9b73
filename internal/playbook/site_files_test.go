package playbook_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// A project keeps policy.yaml and riposte.yaml at its top, beside its
// playbooks (testdata/site, see its README). Walking that directory
// (riposte validate ., riposte dev --playbooks .) read both as playbooks
// and refused them: "playbook: unknown key \"protected\"", "missing
// required key \"apiVersion\"", ... for files that are valid, and dev and
// serve would not start. They are site files, not playbooks; a file
// that holds a playbook is one whatever its name.
func TestLoadDirWithSiteFiles(t *testing.T) {
	set, n, diags := playbook.Load([]string{"testdata/site"}, testCatalog(t))
	if diags != nil {
		t.Fatalf("Load(testdata/site):\n%v", diags)
	}
	var names []string
	for _, c := range set.Playbooks {
		names = append(names, c.Playbook.Name)
	}
	if got := strings.Join(names, ","); n != 2 || got != "minimal,named-policy" {
		t.Errorf("read %d files, playbooks %s; want 2 files, minimal,named-policy", n, got)
	}

	// A broken playbook beside them is still reported, and only it.
	dir := t.TempDir()
	for _, f := range []string{"policy.yaml", "riposte.yaml"} {
		src, err := os.ReadFile(filepath.Join("testdata/site", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("apiVersion: riposte/v1\nname: bad\nversion: 1\ntrigger: {when: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, n, diags = playbook.Load([]string{dir}, testCatalog(t))
	if len(diags) != 1 || diags[0].File != filepath.Join(dir, "bad.yaml") || !strings.Contains(diags[0].Message, `missing required key "steps"`) || n != 1 {
		t.Errorf("Load of policy.yaml, riposte.yaml and a playbook without steps: %d files\n%v\nwant only bad.yaml's missing steps", n, diags)
	}
}

// What tells a site file from a playbook: its keys, then its name.
func TestSiteKind(t *testing.T) {
	for _, tt := range []struct{ path, src, want string }{
		{"policy.yaml", "safe_mode: true\n", playbook.SitePolicy},
		{"guardrails.yml", "approvers: [U012AB3CD]\n", playbook.SitePolicy},
		{"riposte.yaml", "connections: {}\n", playbook.SiteConfig},
		{"site.yaml", "detections: {}\n", playbook.SiteConfig},
		// By name: empty, misspelt, broken; their own checks say so.
		{"policy.yaml", "", playbook.SitePolicy},
		{"x/policy.yml", "protcted: {}\n", playbook.SitePolicy},
		{"riposte.yaml", "connections: [\n", playbook.SiteConfig},
		{"riposte.yml", "# nothing yet\n", playbook.SiteConfig},
		// A key of a playbook makes a playbook, whatever the name.
		{"policy.yaml", "apiVersion: riposte/v1\nname: p\n", ""},
		{"riposte.yaml", "steps: []\nconnections: {}\n", ""},
		{"p.yaml", "name: p\nsafe_mode: true\n", ""},
		{"p.yaml", "protcted: {}\n", ""},
		{"p.yaml", "", ""},
	} {
		if got := playbook.SiteKind(tt.path, []byte(tt.src)); got != tt.want {
			t.Errorf("SiteKind(%s, %q) = %q, want %q", tt.path, tt.src, got, tt.want)
		}
	}
}

// Telling site files from playbooks costs a valid playbook nothing: Load
// decodes its YAML once, as LoadBytes does, not a second time to look at
// its keys (SiteKind decoded every file in full before parsing it: about
// 40 % more time and 60 % more allocations for 1,000 playbooks at every
// start, SIGHUP reload and playbook store scan). Only a file that is not
// a valid playbook is asked whether it is a site file.
func TestLoadDecodesAPlaybookOnce(t *testing.T) {
	cat := testCatalog(t)
	src := benchPlaybook(1)
	file := filepath.Join(t.TempDir(), "bench.yaml")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, diags := playbook.Load([]string{file}, cat); diags != nil {
		t.Fatal(diags)
	}
	parse := testing.AllocsPerRun(5, func() { _, _ = playbook.LoadBytes("bench.yaml", src, cat) })
	load := testing.AllocsPerRun(5, func() { _, _, _ = playbook.Load([]string{file}, cat) })
	if load > parse*1.2 {
		t.Errorf("Load of one playbook: %.0f allocations; LoadBytes of it: %.0f (Load decodes it twice?)", load, parse)
	}
}
