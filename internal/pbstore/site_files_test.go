package pbstore_test

import (
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/pbstore"
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
