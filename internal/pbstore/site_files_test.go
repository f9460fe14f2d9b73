package pbstore_test

import (
	"os"

	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/pbstore"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// A worker's playbooks directory that is a project's top (--playbooks .)
// holds policy.yaml and riposte.yaml too (internal/playbook/testdata/site):
// they are no playbooks, so a scan neither reports them as invalid ones
// nor fails.
func TestScanSkipsSiteFiles(t *testing.T) {
	s, err := pbstore.New(activities.Catalog(), pbstore.Options{Paths: []string{"../playbook/testdata/site"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Scan(); err != nil {
		t.Errorf("Scan of a project with policy.yaml and riposte.yaml: %v", err)
	}
}

// Nor does it report other tools' YAML at a project's top (Kubernetes
// manifests, Compose files: internal/playbook/testdata/other) as
// invalid playbooks.
func TestScanSkipsOtherToolsYAML(t *testing.T) {
	s, err := pbstore.New(activities.Catalog(), pbstore.Options{Paths: []string{"../playbook/testdata/other"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Scan(); err != nil {
		t.Errorf("Scan of a project with Kubernetes manifests and Compose files: %v", err)
	}
}

// A scan decodes each valid playbook once (LoadBytes), not a second time
// to tell it from a site file (playbook.SiteKind): only a file that is
// not a valid playbook is asked.
func TestScanDecodesAPlaybookOnce(t *testing.T) {
	cat := activities.Catalog()
	src, err := os.ReadFile("../playbook/testdata/site/playbooks/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := pbstore.New(cat, pbstore.Options{Paths: []string{"../playbook/testdata/site/playbooks/minimal.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	parse := testing.AllocsPerRun(5, func() { _, _ = playbook.LoadBytes("minimal.yaml", src, cat) })
	scan := testing.AllocsPerRun(5, func() { _ = s.Scan() })
	if scan > parse*1.2 {
		t.Errorf("Scan of one playbook: %.0f allocations; LoadBytes of it: %.0f (Scan decodes it twice?)", scan, parse)
	}
}
