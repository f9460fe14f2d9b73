package playbook

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/safefile"
	"github.com/riposte-dev/riposte/internal/yamlx"
)

// Set is a validated collection of playbooks, as loaded from files.
type Set struct {
	Playbooks []*Compiled // sorted by name
	byName    map[string]*Compiled
}

// Get returns the playbook with the name.
func (s *Set) Get(name string) (*Compiled, bool) {
	c, ok := s.byName[name]
	return c, ok
}

// IsPlaybookFile reports whether a path names a playbook (YAML, not a test file).
func IsPlaybookFile(path string) bool {
	base := filepath.Base(path)
	if strings.HasPrefix(base, ".") || IsTestFile(path) {
		return false
	}
	ext := filepath.Ext(base)
	return ext == ".yaml" || ext == ".yml"
}

// IsTestFile reports whether a path names a playbook test file (NAME.test.yaml).
func IsTestFile(path string) bool {
	base := filepath.Base(path)
	return strings.HasSuffix(base, ".test.yaml") || strings.HasSuffix(base, ".test.yml")
}

// Files expands paths (files or directories, walked recursively) into the
// sorted playbook files they hold. Files named explicitly are kept whatever
// their name, except playbook tests (NAME.test.yaml), which a shell glob
// such as playbooks/*.yaml names beside the playbooks.
func Files(paths []string) ([]string, error) {
	out, err := WalkFiles(paths, IsPlaybookFile, func(p string) ([]string, error) {
		if IsTestFile(p) {
			return nil, nil
		}
		return []string{p}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading playbooks: %w", err)
	}
	return out, nil
}

// WalkFiles expands paths into the sorted, deduplicated files they stand
// for: a file named explicitly gives what named returns for it (which may
// refuse it); a directory is walked recursively, hidden directories
// skipped, for the files match accepts. The playbook and the playbook test
// commands both expand their arguments this way.
func WalkFiles(paths []string, match func(path string) bool, named func(path string) ([]string, error)) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files, err := named(p)
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				add(f)
			}
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if !d.IsDir() && match(path) {
				add(path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walking %s: %w", p, err)
		}
	}
	sort.Strings(out)
	return out, nil
}

// LoadFile parses and compiles one playbook file.
func LoadFile(path string, cat *catalog.Catalog) (*Compiled, Diagnostics) {
	src, err := safefile.ReadFile(path, safefile.MaxSize)
	if err != nil {
		return nil, Diagnostics{{File: path, Line: 1, Col: 1, Severity: yamlx.SeverityError, Message: fmt.Sprintf("cannot read file: %v", err)}}
	}
	return LoadBytes(path, src, cat)
}

// LoadBytes parses and compiles playbook source.
func LoadBytes(name string, src []byte, cat *catalog.Catalog) (*Compiled, Diagnostics) {
	return load(name, src, cat, false)
}

// LoadStored parses and compiles a playbook version already kept in a
// playbook store: one that an earlier release validated and may have
// started runs with. Refusals added since that only guard authoring
// (approvers that are not Slack ids or are listed twice, an if written
// empty, which those releases ran as no condition, the upper bounds of
// max_attempts, concurrency, quorum and version, durations written as
// time.ParseDuration reads them, +5m or .5h) are not applied, so a
// run in flight during an upgrade replays and finishes with the version it
// started with instead of failing its workflow task on every attempt.
// riposte validate, serve and the worker's playbooks directory still
// refuse such a file (LoadBytes), so no new run starts with it.
func LoadStored(name string, src []byte, cat *catalog.Catalog) (*Compiled, Diagnostics) {
	return load(name, src, cat, true)
}

func load(name string, src []byte, cat *catalog.Catalog, stored bool) (*Compiled, Diagnostics) {
	pb, diags := parse(name, src, stored)
	if pb == nil {
		return nil, diags.Sort()
	}
	c, cdiags := Compile(pb, cat, Digest(src))
	diags = append(diags, cdiags...)
	if len(diags) > 0 {
		return nil, diags.Sort()
	}
	c.Source = src
	return c, nil
}

// Load reads every playbook under the paths and validates them together:
// each file on its own, then names unique across files. It returns all
// diagnostics of all files; the set is nil when there is any.
func Load(paths []string, cat *catalog.Catalog) (*Set, int, Diagnostics) {
	files, err := Files(paths)
	if err != nil {
		return nil, 0, Diagnostics{{File: strings.Join(paths, ","), Line: 1, Col: 1, Severity: yamlx.SeverityError, Message: err.Error()}}
	}
	set := &Set{byName: map[string]*Compiled{}}
	var all Diagnostics
	firstFile := map[string]string{}
	for _, f := range files {
		src, err := safefile.ReadFile(f, safefile.MaxSize)
		if err != nil {
			all = append(all, Diagnostic{File: f, Line: 1, Col: 1, Severity: yamlx.SeverityError, Message: fmt.Sprintf("cannot read file: %v", err)})
			continue
		}
		pb, diags := Parse(f, src)
		if pb != nil {
			// Duplicate names are checked even when the file has other errors.
			if pb.Name != "" {
				if other, dup := firstFile[pb.Name]; dup {
					line, col := 1, 1
					if p, ok := pb.pos["name"]; ok {
						line, col = p.Line, p.Col
					}
					r := yamlx.Reporter{File: f, Src: pb.src} // as Decode read it
					r.At(yamlx.SeverityError, line, col, fmt.Sprintf("duplicate playbook name %q (also in %s)", pb.Name, other))
					diags = append(diags, r.Diags...)
				} else {
					firstFile[pb.Name] = f
				}
			}
			c, cdiags := Compile(pb, cat, Digest(src))
			diags = append(diags, cdiags...)
			if len(diags) == 0 {
				c.Source = src
				set.byName[pb.Name] = c
				set.Playbooks = append(set.Playbooks, c)
			}
		}
		all = append(all, diags...)
	}
	if len(all) > 0 {
		return nil, len(files), all.Sort()
	}
	sort.Slice(set.Playbooks, func(i, j int) bool { return set.Playbooks[i].Playbook.Name < set.Playbooks[j].Playbook.Name })
	return set, len(files), nil
}

// NewSet builds a set from compiled playbooks (used by tests and tools).
func NewSet(pbs ...*Compiled) *Set {
	s := &Set{byName: map[string]*Compiled{}}
	for _, c := range pbs {
		s.byName[c.Playbook.Name] = c
		s.Playbooks = append(s.Playbooks, c)
	}
	sort.Slice(s.Playbooks, func(i, j int) bool { return s.Playbooks[i].Playbook.Name < s.Playbooks[j].Playbook.Name })
	return s
}
