package cli

import (
	"bytes"
	"fmt"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Package map: docs/architecture.md lists every package of the repository
// with the first sentence of its package comment (what `go doc` shows), so
// a newcomer finds where a concept lives, as cli/cli's project-layout page
// does. The table is generated from the comments, which staticcheck's
// ST1000 requires in every package; this test keeps the two in step.

const (
	packageMapStart = "<!-- package map: generated from the package comments by `go test ./internal/cli -run TestPackageMapUpToDate -update`; do not edit by hand -->"
	packageMapEnd   = "<!-- end of package map -->"
)

// packageMap renders the table for the repository at root: one row per
// directory holding Go files, in path order.
func packageMap(root string) (string, error) {
	type row struct{ path, synopsis string }
	var rows []row
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		files, err := filepath.Glob(filepath.Join(path, "*.go"))
		if err != nil || len(files) == 0 {
			return err
		}
		slices.Sort(files)
		// A package comment in a non-test file wins; a package of tests
		// alone (deploy, test/e2e) has it in a test file.
		slices.SortStableFunc(files, func(a, b string) int {
			return boolInt(strings.HasSuffix(a, "_test.go")) - boolInt(strings.HasSuffix(b, "_test.go"))
		})
		var text, pkg string
		for _, f := range files {
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				return err
			}
			if strings.HasSuffix(af.Name.Name, "_test") {
				continue // an external test package's comment is not the package's
			}
			if af.Doc != nil && (strings.HasPrefix(af.Doc.Text(), "Package ") || strings.HasPrefix(af.Doc.Text(), "Command ")) {
				text, pkg = af.Doc.Text(), af.Name.Name
				break
			}
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if text == "" {
			return fmt.Errorf("%s: no package comment (staticcheck's ST1000 asks for one)", rel)
		}
		syn := new(doc.Package).Synopsis(text)
		for _, prefix := range []string{"Package " + pkg + " ", "Command " + filepath.Base(rel) + " "} {
			syn = strings.TrimPrefix(syn, prefix)
		}
		// Table cells: a | would end the cell, a <vendor> would read as HTML.
		syn = strings.NewReplacer("|", `\|`, "<", "&lt;").Replace(syn)
		rows = append(rows, row{filepath.ToSlash(rel) + "/", syn})
		return nil
	})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n| package | what it is |\n| --- | --- |\n", packageMapStart)
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s |\n", r.path, r.synopsis)
	}
	fmt.Fprintf(&b, "\n%s", packageMapEnd)
	return b.String(), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPackageMapUpToDate fails when docs/architecture.md's package map
// misses a package or says something its package comment no longer says.
func TestPackageMapUpToDate(t *testing.T) {
	const path = "../../docs/architecture.md"
	want, err := packageMap("../..")
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	start, end := bytes.Index(page, []byte(packageMapStart)), bytes.Index(page, []byte(packageMapEnd))
	if start < 0 || end < start {
		t.Fatalf("%s has no package map between %q and %q", path, packageMapStart, packageMapEnd)
	}
	got := string(page[start : end+len(packageMapEnd)])
	if got == want {
		return
	}
	if !*update {
		t.Fatalf("%s: the package map is out of date (a package was added, moved or its comment changed): run go test ./internal/cli -run TestPackageMapUpToDate -update", path)
	}
	out := append(append(append([]byte{}, page[:start]...), want...), page[end+len(packageMapEnd):]...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
