package playbook_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// At the top of a real project (riposte validate ., riposte dev
// --playbooks .) the walk reaches other tools' YAML: Kubernetes
// manifests, Compose files, GitHub Actions workflows, Temporal's dynamic
// config (testdata/other, from their vendors' docs). Each was reported as
// a broken playbook ("apiVersion must be riposte/v1, got \"apps/v1\"",
// "missing required key \"apiVersion\"", ...), so validate failed and dev
// refused to start. They are skipped, each returned as a site file of
// kind SiteOther saying what it holds, for validate to print and dev to
// log; the playbook beside them is loaded.
func TestLoadSkipsOtherToolsYAML(t *testing.T) {
	set, n, diags, site := playbook.LoadSite([]string{"testdata/other"}, testCatalog(t))
	if diags != nil {
		t.Fatalf("LoadSite(testdata/other):\n%v", diags)
	}
	if n != 1 || len(set.Playbooks) != 1 || set.Playbooks[0].Playbook.Name != "minimal" {
		t.Errorf("read %d files, %d playbooks; want 1, minimal", n, len(set.Playbooks))
	}
	want := map[string]string{
		"compose-name.yml":            "Compose",
		"compose-secrets.yaml":        "Compose",
		"github-actions-demo.yml":     "GitHub Actions",
		"k8s-configmaps.yaml":         "ConfigMap",
		"k8s-deployment.yaml":         "Deployment",
		"temporal-dynamicconfig.yaml": "frontend.enableUpdateWorkflowExecution",
	}
	for _, sf := range site {
		base := filepath.Base(sf.Path)
		if sf.Kind == playbook.SitePolicy || sf.Kind == playbook.SiteConfig || !strings.Contains(sf.What, want[base]) {
			t.Errorf("%s: skipped as %q (%s), want another tool's, saying %q", sf.Path, sf.Kind, sf.What, want[base])
		}
		delete(want, base)
	}
	for f := range want {
		t.Errorf("%s: not skipped", f)
	}
}

// What is still a playbook: anything that says riposte in its apiVersion
// (misspelt too, at any depth), has a key of a playbook (misspelt too),
// does not decode, or is not a mapping. Each is reported as the broken
// playbook it is, never skipped; only YAML that clearly is another
// tool's is.
func TestForeign(t *testing.T) {
	const steps = "steps:\n  - id: log\n    action: core.log\n    with: {message: hi}\n"
	const pb = "apiVersion: riposte/v1\nname: p\nversion: 1\ntrigger: {when: true}\n" + steps
	for _, tt := range []struct {
		name, src string
		foreign   bool
	}{
		// Near misses: broken playbooks.
		{"apiVersion misspelt", "apiVersion: ripost/v1\nkind: Playbook\nname: p\n", false},
		{"apiVersion misspelt, with kind only", "apiVersion: ripsote/v1\nkind: Playbook\n", false},
		{"apiVersion riposte/v2 with kind", "apiVersion: riposte/v2\nkind: Playbook\nmetadata: {}\n", false},
		{"apiVersion riposte.dev/v1 with kind", "apiVersion: riposte.dev/v1\nkind: Playbook\nspec: {}\n", false},
		{"apiVersion key misspelt", "api_version: riposte/v1\nkind: Playbook\n", false},
		{"apiVersion key misspelt, not riposte", "apiversion: apps/v1\nnmae: p\n", false},
		{"keys misspelt, no apiVersion", "nmae: p\nverison: 1\ntrigers: {when: true}\nstpes: []\n", false},
		{"one key misspelt, no apiVersion", "stpes: []\n", false},
		{"no apiVersion", "name: p\nversion: 1\ntrigger: {when: true}\n" + steps, false},
		{"a playbook with kind", "apiVersion: v1\nkind: Playbook\nname: p\n" + steps, false},
		{"k8s-like with steps", "apiVersion: apps/v1\nkind: Deployment\nsteps: []\n", false},
		{"compose-like with steps", "services: {web: {image: nginx}}\n" + steps, false},
		{"compose-like with trigger", "name: p\nservices: {}\ntrigger: {when: true}\n", false},
		{"actions-like with trigger", "name: p\non: [push]\njobs: {}\ntrigger: {when: true}\n", false},
		{"a playbook nested", "playbook:\n  apiVersion: riposte/v1\n  name: p\n", false},
		{"a playbook nested in a list", "items:\n  - apiVersion: riposte/v1\n    name: p\n", false},
		{"YAML error", "apiVersion: apps/v1\nkind: Deployment\nspec: [\n", false},
		{"YAML error in a second document", "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: [\n", false},
		{"a playbook then another document", pb + "---\napiVersion: v1\nkind: ConfigMap\n", false},
		{"a manifest then a playbook", "apiVersion: v1\nkind: ConfigMap\n---\n" + pb, false},
		{"a manifest then a broken playbook", "apiVersion: v1\nkind: ConfigMap\n---\nname: p\nstpes: []\n", false},
		{"a manifest then a list", "apiVersion: v1\nkind: ConfigMap\n---\n- a\n", false},
		{"aliases over budget", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n", false},
		{"empty", "", false},
		{"comments only", "# nothing\n", false},
		{"empty mapping", "{}\n", false},
		{"a list", "- a\n- b\n", false},
		{"a scalar", "hello\n", false},
		{"apiVersion not a string", "apiVersion: [apps/v1]\nkind: Deployment\n", false},
		// Other tools'.
		{"a Kubernetes object", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {}\n", true},
		{"a Kubernetes list", "apiVersion: v1\nkind: List\nitems: []\n", true},
		{"Kubernetes objects, --- between", "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: apps/v1\nkind: Deployment\n---\n", true},
		{"a Compose file with version", "version: '3'\nservices:\n  web:\n    build: .\n", true},
		{"a Compose file with x- keys", "x-common: &c {restart: always}\nservices:\n  web:\n    <<: *c\n    image: nginx\n", true},
		{"Prometheus rules", "groups:\n  - name: g\n    rules: []\n", true},
		{"no key of a playbook", "kind: Deployment\nmetadata: {}\n", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			what := playbook.Foreign([]byte(tt.src))
			if (what != "") != tt.foreign {
				t.Errorf("Foreign(%q) = %q, want another tool's: %v", tt.src, what, tt.foreign)
			}
			if tt.foreign {
				return
			}
			// Beside a valid playbook, it is reported, not skipped.
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(strings.Replace(pb, "name: p", "name: a", 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, n, diags, site := playbook.LoadSite([]string{dir}, testCatalog(t))
			if n != 2 || len(site) != 0 || len(diags.Errors()) == 0 || diags.Errors()[0].File != filepath.Join(dir, "b.yaml") {
				t.Errorf("LoadSite: %d files, skipped %v\n%v\nwant b.yaml read and reported", n, site, diags)
			}
		})
	}
}
