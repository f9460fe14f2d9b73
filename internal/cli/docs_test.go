package cli

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/playbook"
)

var update = flag.Bool("update", false, "rewrite generated docs")

// TestGeneratedDocsUpToDate fails when docs/actions.md or
// docs/playbook.schema.json drift from the catalog and the format.
func TestGeneratedDocsUpToDate(t *testing.T) {
	var md bytes.Buffer
	WriteCatalogMarkdown(&md, activities.Catalog(), activities.Vendors())
	schema, err := playbook.JSONSchema(activities.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]byte{
		"../../docs/actions.md":           md.Bytes(),
		"../../docs/playbook.schema.json": append(schema, '\n'),
	} {
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is out of date (the catalog, a connector's activities/<vendor>/README.md or the format changed): run `%s` (or go test ./internal/cli -run TestGeneratedDocsUpToDate -update)", path, RegenerateDocs)
		}
	}
}
