package pbtest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/intake/convert"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/safefile"
	"github.com/riposte-dev/riposte/internal/yamlx"
	"github.com/riposte-dev/riposte/workflows"
)

// MaxFileBytes bounds a test file.
const MaxFileBytes = 1 << 20

// Step and run statuses a test may expect.
var (
	stepStatuses = []string{playbook.StatusSucceeded, playbook.StatusFailed, playbook.StatusSkipped, playbook.StatusDenied, playbook.StatusTimedOut}
	runStatuses  = []string{workflows.RunSucceeded, workflows.RunFailed}
	gateStates   = []string{workflows.GateApproved, workflows.GateDenied, workflows.GateTimedOut}
)

var (
	validatorOnce = sync.OnceValues(intake.NewValidator)
	stepIDRe      = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// decoder reads a test file strictly: every unknown key, wrong type or
// missing field is a positioned diagnostic.
type decoder struct {
	r   *yamlx.Reporter
	dir string
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.r.Errorf(n, format, args...)
}

// ReadFile reads and decodes a test file. Problems are positioned
// diagnostics; the file is nil only when nothing could be read.
func ReadFile(path string) (*File, playbook.Diagnostics) {
	src, err := safefile.ReadFile(path, safefile.MaxSize)
	if err != nil {
		return nil, playbook.Diagnostics{{File: path, Line: 1, Col: 1, Severity: yamlx.SeverityError, Message: fmt.Sprintf("cannot read file: %v", err)}}
	}
	return Decode(path, src)
}

// Decode decodes a test file's source. Detection files are read relative
// to the directory of path. It checks everything that does not need the
// playbook; Check does the rest.
func Decode(path string, src []byte) (*File, playbook.Diagnostics) {
	d := &decoder{r: &yamlx.Reporter{File: path, Src: src}, dir: filepath.Dir(path)}
	root, ok := yamlx.Decode(d.r, src, yamlx.Options{MaxBytes: MaxFileBytes,
		SecondDocument: "a test file holds one YAML document; found a second"})
	if !ok {
		return nil, d.r.Diags
	}
	if root == nil {
		d.errorf(nil, "file is empty; expected a playbook test (cases: [...])")
		return nil, d.r.Diags
	}
	f := &File{Path: path, src: d.r.Src} // as Decode read it (a lone CR as a line end)
	d.topLevel(root, f)
	return f, d.r.Diags.Sort()
}

func (d *decoder) topLevel(n *yaml.Node, f *File) {
	fs, ok := d.r.Fields(n, "test file", "playbook", "groups", "approval_defaults", "cases")
	if !ok {
		return
	}
	if p := fs["playbook"]; p != nil {
		f.Playbook, _ = d.r.String(p, "playbook")
		f.playbookNode = p
	}
	if g := fs["groups"]; g != nil {
		f.Groups = map[string][]string{}
		ps, _ := d.r.Mapping(g, "groups")
		for _, p := range ps {
			members, _ := d.r.Strings(p.Value, "groups."+p.Key.Value)
			f.Groups[p.Key.Value] = members
		}
	}
	if a := fs["approval_defaults"]; a != nil {
		af, ok := d.r.Fields(a, "approval_defaults", "users", "groups", "timeout", "channel")
		if ok {
			if v := af["users"]; v != nil {
				f.ApprovalDefaults.Users, _ = d.r.StringList(v, "approval_defaults.users")
			}
			if v := af["groups"]; v != nil {
				f.ApprovalDefaults.Groups, _ = d.r.StringList(v, "approval_defaults.groups")
			}
			if v := af["timeout"]; v != nil {
				if s, ok := d.r.String(v, "approval_defaults.timeout"); ok {
					dur, err := playbook.ParseDuration(s)
					if err != nil {
						d.errorf(v, "approval_defaults.timeout: %v", err)
					}
					f.ApprovalDefaults.Timeout = dur
				}
			}
			if v := af["channel"]; v != nil {
				f.ApprovalDefaults.Channel, _ = d.r.String(v, "approval_defaults.channel")
			}
		}
	}
	if !d.r.Require(n, fs, "test file", "cases") {
		return
	}
	cs := fs["cases"]
	if cs.Kind != yaml.SequenceNode {
		d.errorf(cs, "cases must be a list, got %s", yamlx.KindName(cs))
		return
	}
	if len(cs.Content) == 0 {
		d.errorf(cs, "cases: a test file needs at least one case")
	}
	names := map[string]int{}
	for i, cn := range cs.Content {
		c := d.testCase(yamlx.Resolve(cn), i)
		if c == nil {
			continue
		}
		if c.Name != "" {
			if first, dup := names[c.Name]; dup {
				d.errorf(c.node, "cases[%d]: duplicate case name %q (also cases[%d])", i, c.Name, first)
			} else {
				names[c.Name] = i
			}
		}
		f.Cases = append(f.Cases, c)
	}
}

var caseKeys = []string{"name", "detection", "patch", "requester", "dry_run", "stubs", "approvals", "expect"}

func (d *decoder) testCase(n *yaml.Node, i int) *Case {
	path := fmt.Sprintf("cases[%d]", i)
	fs, ok := d.r.Fields(n, path, caseKeys...)
	if !ok {
		return nil
	}
	c := &Case{Index: i, node: n, Stubs: map[string]*Stub{}, Approvals: map[string]*Approval{}}
	if d.r.Require(n, fs, path, "name") {
		c.Name, _ = d.r.String(fs["name"], path+".name")
	}
	if d.r.Require(n, fs, path, "detection") {
		c.Detection, c.DetectionFile = d.detection(fs["detection"], fs["patch"], path)
	}
	if v := fs["requester"]; v != nil {
		c.Requester, _ = d.r.String(v, path+".requester")
	}
	if v := fs["dry_run"]; v != nil {
		c.DryRun, _ = d.r.Bool(v, path+".dry_run")
	}
	if v := fs["stubs"]; v != nil {
		ps, _ := d.r.Mapping(v, path+".stubs")
		for _, p := range ps {
			sp := path + ".stubs." + p.Key.Value
			d.stepID(p.Key, sp)
			if s := d.stub(p.Value, sp, true, true); s != nil {
				c.Stubs[p.Key.Value] = s
				c.stubKeys = append(c.stubKeys, p.Key)
			}
		}
	}
	if v := fs["approvals"]; v != nil {
		ps, _ := d.r.Mapping(v, path+".approvals")
		for _, p := range ps {
			ap := path + ".approvals." + p.Key.Value
			d.stepID(p.Key, ap)
			if a := d.approval(p.Value, ap); a != nil {
				c.Approvals[p.Key.Value] = a
				c.apprKeys = append(c.apprKeys, p.Key)
			}
		}
	}
	if d.r.Require(n, fs, path, "expect") {
		d.expect(fs["expect"], path+".expect", &c.Expect)
	}
	return c
}

func (d *decoder) stepID(k *yaml.Node, path string) {
	if !stepIDRe.MatchString(k.Value) {
		d.errorf(k, "%s: %q is not a step id (lowercase letters, digits and _)", path, k.Value)
	}
}

// detection reads `detection:` (a file or an inline mapping), applies
// `patch:` and checks the result against the detection contract.
func (d *decoder) detection(n, patch *yaml.Node, path string) (map[string]any, string) {
	var det map[string]any
	file := ""
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
		file = n.Value
		p := file
		if !filepath.IsAbs(p) {
			p = filepath.Join(d.dir, p)
		}
		src, err := safefile.ReadFile(p, safefile.MaxSize)
		if err != nil {
			d.errorf(n, "%s: cannot read %s: %v", path+".detection", file, errors.Unwrap(err))
			return nil, file
		}
		dets, err := intake.Decode(bytes.NewReader(src), intake.DecodeOptions{})
		if err != nil {
			var de *intake.DecodeError
			if errors.As(err, &de) {
				err = errors.New(de.Detail())
			}
			d.errorf(n, "%s: %s: %v", path+".detection", file, err)
			return nil, file
		}
		// A vendor alert (CrowdStrike, Graph, Elastic, Suricata) is
		// converted as the intake does when no format is given, so a
		// case can name a producer's own sample.
		m, _, err := convert.One(0, map[string]any(dets[0]), "")
		if err != nil {
			d.errorf(n, "%s: %s: %v", path+".detection", file, err)
			return nil, file
		}
		det = m
	case n.Kind == yaml.MappingNode:
		m, ok := d.r.DetectionMapping(n, path+".detection")
		if !ok {
			return nil, ""
		}
		det = m
	default:
		d.errorf(n, "%s.detection must be a file name or a mapping, got %s", path, yamlx.KindName(n))
		return nil, ""
	}
	where := n
	if patch != nil {
		pm, ok := d.r.DetectionMapping(patch, path+".patch")
		if !ok {
			return nil, file
		}
		merge(det, pm)
		where = patch
	}
	v, err := validatorOnce()
	if err != nil {
		d.errorf(n, "%s: %v", path+".detection", err)
		return nil, file
	}
	if errs := v.Validate([]intake.Detection{det}); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			if e.Path == "" {
				msgs[i] = e.Message
			} else {
				msgs[i] = e.Path + ": " + e.Message
			}
		}
		what := "the detection"
		if patch != nil {
			what = "the patched detection"
		}
		d.errorf(where, "%s: %s does not meet the detection contract: %s", path, what, strings.Join(msgs, "; "))
		return nil, file
	}
	return det, file
}

// merge deep-merges patch into dst: mappings merge key by key, a null
// deletes the key, anything else replaces.
func merge(dst, patch map[string]any) {
	for _, k := range slices.Sorted(maps.Keys(patch)) {
		pv := patch[k]
		if pv == nil {
			delete(dst, k)
			continue
		}
		if pm, ok := pv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, pm)
				continue
			}
			nm := map[string]any{}
			merge(nm, pm)
			dst[k] = nm
			continue
		}
		dst[k] = pv
	}
}
