package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/pbtest"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
)

// Every YAML file Riposte reads (playbooks, *.test.yaml, riposte.yaml,
// policy.yaml) is refused past 1 MiB, with the size and the limit, read
// from bytes or from a file (README, "Playbook format").
func TestYAMLFilesLimitedTo1MiB(t *testing.T) {
	const limit = 1 << 20
	// A valid-looking comment line repeated past the limit: only the size
	// can refuse it.
	big := []byte(strings.Repeat("# padding padding padding padding padding padding padding\n", limit/56+1))
	if len(big) <= limit {
		t.Fatal("test input is not over the limit")
	}
	want := "the limit is 1048576"
	check := func(what string, err string) {
		t.Helper()
		if !strings.Contains(err, want) {
			t.Errorf("%s: %q does not say %q", what, err, want)
		}
	}
	_, diags := playbook.Parse("p.yaml", big)
	check("playbook", diags.Error())
	_, diags = pbtest.Decode("p.test.yaml", big)
	check("playbook test", diags.Error())
	_, cdiags := config.ParseConnections("riposte.yaml", big, config.ConnectionsOptions{})
	check("riposte.yaml", cdiags.Error())
	_, err := policy.Parse("policy.yaml", big)
	check("policy.yaml", errString(err))

	dir := t.TempDir()
	for _, name := range []string{"policy.yaml", "riposte.yaml", "p.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, name), big, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err = policy.Load(filepath.Join(dir, "policy.yaml"), true)
	if err == nil {
		t.Error("policy.yaml file: accepted")
	}
	_, cdiags, err = config.LoadConnections(filepath.Join(dir, "riposte.yaml"))
	if err == nil && cdiags == nil {
		t.Error("riposte.yaml file: accepted")
	}
	if _, diags := playbook.LoadFile(filepath.Join(dir, "p.yaml"), activities.Catalog()); diags == nil {
		t.Error("playbook file: accepted")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
