package playbook

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/policy"
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
	// seen: the files kept; dirs: the directories walked, each once
	// (a symlink to a directory walked already, its parent or the root,
	// is not walked again: the walk ends, whatever loops the links make).
	var seen, dirs safefile.Distinct
	add := func(p string) {
		// One file named two ways ("pb" walked and "./pb/a.yaml" named,
		// an absolute path, a symlink or hard link to it, a directory
		// named again through a symlink) is one file (safefile.Same),
		// kept under the first of its paths walked.
		if seen.Add(p) {
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
		if err := walkDir(p, &dirs, match, add); err != nil {
			return nil, fmt.Errorf("walking %s: %w", p, err)
		}
	}
	sort.Strings(out)
	return out, nil
}

// walkDir walks the directory p for the files match accepts, hidden
// directories skipped, following symlinks to directories (a Kubernetes
// ConfigMap volume's subdirectory is one: team-a -> ..data/team-a) unless
// their name is hidden (..data) or dirs holds the directory already.
func walkDir(p string, dirs *safefile.Distinct, match func(string) bool, add func(string)) error {
	root := p
	if li, err := os.Lstat(p); err == nil && li.Mode()&fs.ModeSymlink != 0 {
		// A symlink to a directory: filepath.WalkDir walks a root that
		// is a symlink only when it ends in a separator (it would give
		// the link alone, and no playbook was found).
		root = p + string(filepath.Separator)
	}
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		hidden := path != root && strings.HasPrefix(d.Name(), ".")
		if d.IsDir() {
			if hidden || !dirs.Add(path) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// A link that does not resolve (dangling, a loop) is taken
			// as a file: one named like a playbook is read, and reading
			// it says why it cannot be.
			if st, err := os.Stat(path); err == nil && st.IsDir() {
				if hidden {
					return nil
				}
				return walkDir(path, dirs, match, add)
			}
		}
		if match(path) {
			add(path)
		}
		return nil
	})
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

// Kinds of site file (SiteKind): the YAML a project keeps beside its
// playbooks, at its top in README.md's layout.
const (
	SitePolicy = "policy" // policy.yaml, the guardrails (internal/policy)
	SiteConfig = "config" // riposte.yaml, the connections (internal/config)
)

// SiteFile is a file under the playbook paths that holds a site file or
// another tool's YAML (Classify), not a playbook.
type SiteFile struct {
	Path string
	Kind string // SitePolicy, SiteConfig or SiteOther
	What string // SiteOther: what it holds (Foreign), for validate and logs
}

// configKeys are the top-level keys of riposte.yaml: internal/config's
// (which imports this package; its tests keep the two agreeing).
var configKeys = []string{"connections", "detections"}

// SiteKind tells a site file from a playbook by what it holds: a YAML
// mapping with no key of a playbook and a key of policy.yaml is the
// policy, one with a key of riposte.yaml the configuration. A file named
// policy.yaml / riposte.yaml (.yml) that holds no key of a playbook is
// that file too, whatever else it holds (empty, misspelt keys, broken
// YAML: its own checks say what is wrong). Anything else is a playbook,
// and "" is returned: a file with a key of a playbook is one whatever its
// name, and is checked as one.
func SiteKind(path string, src []byte) string {
	var quiet yamlx.Reporter
	root, ok := yamlx.Decode(&quiet, src, yamlx.Options{})
	if ok && root != nil {
		root = yamlx.Resolve(root)
	}
	var keys []string
	if ok && root != nil && root.Kind == yaml.MappingNode {
		for i := 0; i < len(root.Content); i += 2 {
			keys = append(keys, root.Content[i].Value)
		}
	}
	pbKeys := newFormat().playbook.names()
	for _, k := range keys {
		if slices.Contains(pbKeys, k) {
			return ""
		}
	}
	policyKeys := policy.TopLevelKeys()
	for _, k := range keys {
		if slices.Contains(policyKeys, k) {
			return SitePolicy
		}
	}
	for _, k := range keys {
		if slices.Contains(configKeys, k) {
			return SiteConfig
		}
	}
	switch filepath.Base(path) {
	case "policy.yaml", "policy.yml":
		return SitePolicy
	case "riposte.yaml", "riposte.yml":
		return SiteConfig
	}
	return ""
}

// Load reads every playbook under the paths and validates them together:
// each file on its own, then names unique across files. It returns all
// diagnostics of all files; the set is nil when there is any. Site files
// (SiteKind: policy.yaml, riposte.yaml) and other tools' YAML (Foreign:
// Kubernetes manifests, Compose files, ...) are not playbooks: they are
// skipped, and not counted.
func Load(paths []string, cat *catalog.Catalog) (*Set, int, Diagnostics) {
	set, n, diags, _ := LoadSite(paths, cat)
	return set, n, diags
}

// LoadSite is Load, and also returns the site files and other tools'
// YAML it skipped (sorted by path), for riposte validate to check each
// site file as what it is and to say which files it skipped.
func LoadSite(paths []string, cat *catalog.Catalog) (*Set, int, Diagnostics, []SiteFile) {
	files, err := Files(paths)
	if err != nil {
		return nil, 0, Diagnostics{{File: strings.Join(paths, ","), Line: 1, Col: 1, Severity: yamlx.SeverityError, Message: err.Error()}}, nil
	}
	var site []SiteFile
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
		// A file that parses as a playbook holds its keys: only one that
		// does not is asked whether it is a site file or another tool's
		// YAML (Classify decodes it again).
		if len(diags) > 0 {
			if k, what := Classify(f, src); k != "" {
				site = append(site, SiteFile{Path: f, Kind: k, What: what})
				continue
			}
		}
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
		return nil, len(files) - len(site), all.Sort(), site
	}
	sort.Slice(set.Playbooks, func(i, j int) bool { return set.Playbooks[i].Playbook.Name < set.Playbooks[j].Playbook.Name })
	return set, len(files) - len(site), nil, site
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
