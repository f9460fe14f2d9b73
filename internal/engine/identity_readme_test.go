package engine_test

import (
	"os"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/engine"
)

// README (Execution model, Revisions) quotes the markers a worker of this
// release announces in its identity, which operators compare with what
// the Temporal UI and `riposte doctor` show: it must be what a worker
// announces, revision included.
func TestREADMEQuotesTheWorkerIdentity(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	id := engine.WorkerIdentity("1@host", true)
	markers := strings.TrimPrefix(id, "1@host ")
	if !strings.Contains(string(b), "(`"+markers+"`)") {
		t.Errorf("README does not quote the identity markers of this release's workers: %q", markers)
	}
}
