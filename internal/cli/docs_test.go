package cli

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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
	for _, doc := range []struct {
		path, regenerate string
		want             []byte
	}{
		{"../../docs/actions.md", RegenerateDocs, md.Bytes()},
		{"../../docs/playbook.schema.json", "go run ./cmd/riposte schema > docs/playbook.schema.json", append(schema, '\n')},
	} {
		path, want := doc.path, doc.want
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is out of date (the catalog, a connector's activities/<vendor>/README.md or the format changed): run `%s` (or go test ./internal/cli -run TestGeneratedDocsUpToDate -update)", path, doc.regenerate)
		}
	}
}

// TestDocsNameFilesThatExist fails when README.md, BENCHMARKS.md, a page
// of docs/ or a connector's README names a repository file (`dir/file.go`
// in backticks) or links a relative path that is not there: a renamed file
// leaves the guide pointing nowhere.
func TestDocsNameFilesThatExist(t *testing.T) {
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	vendors, err := filepath.Glob("../../activities/*/README.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append(append(pages, vendors...), "../../README.md", "../../BENCHMARKS.md")
	// A path with a slash and one of these extensions, in backticks.
	ref := regexp.MustCompile("`([A-Za-z0-9_][A-Za-z0-9_./-]*/[A-Za-z0-9_.-]+\\.(?:go|yaml|md|json|sh))`")
	link := regexp.MustCompile(`\]\(([^)#\s]*)(?:#[^)]*)?\)`)
	code := regexp.MustCompile("`[^`]*`")
	for _, page := range pages {
		body, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(body), "\n") {
			for _, m := range ref.FindAllStringSubmatch(line, -1) {
				p := m[1]
				// Placeholders (playbooks/NAME.yaml) and files that
				// exist only at run time are not repository files.
				if strings.ContainsAny(p, "<>*") || strings.Contains(p, "NAME") || strings.HasPrefix(p, ".riposte/") {
					continue
				}
				if _, err := os.Stat(filepath.Join("../..", p)); err == nil {
					continue
				}
				// Pages of docs/ link their neighbours by relative path;
				// a generic name (each connector's testdata/README.md)
				// must exist in some folder.
				if _, err := os.Stat(filepath.Join(filepath.Dir(page), p)); err == nil || anyFolderHas(t, p) {
					continue
				}
				t.Errorf("%s:%d: names %s, which is not in the repository", strings.TrimPrefix(page, "../../"), i+1, p)
			}
			// Relative links ([text](path#anchor)), outside code spans.
			for _, m := range link.FindAllStringSubmatch(code.ReplaceAllString(line, ""), -1) {
				p := m[1]
				if p == "" || strings.Contains(p, "://") || strings.HasPrefix(p, "mailto:") {
					continue
				}
				if _, err := os.Stat(filepath.Join(filepath.Dir(page), p)); err != nil {
					t.Errorf("%s:%d: links to %s, which is not in the repository", strings.TrimPrefix(page, "../../"), i+1, p)
				}
			}
		}
	}
}

// anyFolderHas reports whether some folder of the repository holds the
// relative path rel.
func anyFolderHas(t *testing.T, rel string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || found {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != "../.." {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(filepath.ToSlash(path), "/"+rel) {
			found = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
