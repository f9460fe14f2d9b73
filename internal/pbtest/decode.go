package pbtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/intake/convert"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/safefile"
	"github.com/riposte-dev/riposte/workflows"
)

// MaxFileBytes bounds a test file.
const MaxFileBytes = 1 << 20

// Step and run statuses a test may expect.
var (
	stepStatuses = []string{playbook.StatusSucceeded, playbook.StatusFailed, playbook.StatusSkipped, playbook.StatusDenied, playbook.StatusTimedOut}
	runStatuses  = []string{"succeeded", "failed"}
	gateStates   = []string{"approved", "denied", "timed_out"}
)

var (
	validatorOnce = sync.OnceValues(intake.NewValidator)
	stepIDRe      = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// decoder reads a test file strictly: every unknown key, wrong type or
// missing field is a positioned diagnostic.
type decoder struct {
	file  string
	dir   string
	diags playbook.Diagnostics
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	line, col := 1, 1
	if n != nil {
		line, col = n.Line, n.Column
	}
	d.diags = append(d.diags, playbook.Diagnostic{File: d.file, Line: line, Col: col, Message: fmt.Sprintf(format, args...)})
}

// ReadFile reads and decodes a test file. Problems are positioned
// diagnostics; the file is nil only when nothing could be read.
func ReadFile(path string) (*File, playbook.Diagnostics) {
	src, err := safefile.ReadFile(path, safefile.MaxSize)
	if err != nil {
		return nil, playbook.Diagnostics{{File: path, Line: 1, Col: 1, Message: fmt.Sprintf("cannot read file: %v", err)}}
	}
	return Decode(path, src)
}

// Decode decodes a test file's source. Detection files are read relative
// to the directory of path. It checks everything that does not need the
// playbook; Check does the rest.
func Decode(path string, src []byte) (*File, playbook.Diagnostics) {
	d := &decoder{file: path, dir: filepath.Dir(path)}
	if len(src) > MaxFileBytes {
		d.errorf(nil, "file is %d bytes; the limit is %d", len(src), MaxFileBytes)
		return nil, d.diags
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(nil, "file is empty; expected a playbook test (cases: [...])")
		} else {
			d.yamlError(err)
		}
		return nil, d.diags
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(&extra, "a test file holds one YAML document; found a second")
	} else if !errors.Is(err, io.EOF) {
		d.yamlError(err)
	}
	if len(doc.Content) == 0 {
		d.errorf(nil, "file is empty; expected a playbook test (cases: [...])")
		return nil, d.diags
	}
	f := &File{Path: path}
	d.topLevel(doc.Content[0], f)
	return f, d.diags.Sort()
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (d *decoder) yamlError(err error) {
	msg := err.Error()
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.diags = append(d.diags, playbook.Diagnostic{File: d.file, Line: line, Col: 1, Message: "YAML syntax: " + m[2]})
		return
	}
	d.diags = append(d.diags, playbook.Diagnostic{File: d.file, Line: 1, Col: 1, Message: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")})
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a bool"
		}
		return "a string"
	}
	return "an alias"
}

// pair is one key: value of a mapping.
type pair struct {
	key, val *yaml.Node
}

// pairs returns a mapping's entries in order, refusing non-string and
// duplicate keys. ok is false when n is not a mapping.
func (d *decoder) pairs(n *yaml.Node, path string) ([]pair, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping, got %s", path, kindName(n))
		return nil, false
	}
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
			d.errorf(k, "%s: keys must be strings", path)
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "%s: duplicate key %q", path, k.Value)
			continue
		}
		seen[k.Value] = true
		out = append(out, pair{k, v})
	}
	return out, true
}

// fields reads a mapping whose keys must be among allowed.
func (d *decoder) fields(n *yaml.Node, path string, allowed ...string) (map[string]*yaml.Node, bool) {
	ps, ok := d.pairs(n, path)
	if !ok {
		return nil, false
	}
	out := map[string]*yaml.Node{}
	for _, p := range ps {
		if !contains(allowed, p.key.Value) {
			d.errorf(p.key, "%s: unknown key %q%s", path, p.key.Value, didYouMean(p.key.Value, allowed))
			continue
		}
		out[p.key.Value] = p.val
	}
	return out, true
}

func (d *decoder) require(n *yaml.Node, fs map[string]*yaml.Node, path, key string) bool {
	if _, ok := fs[key]; !ok {
		d.errorf(n, "%s: missing required key %q", path, key)
		return false
	}
	return true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// str reads a non-empty string scalar.
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, "%s must be a string, got %s", path, kindName(n))
		return "", false
	}
	if strings.TrimSpace(n.Value) == "" {
		d.errorf(n, "%s must not be empty", path)
		return "", false
	}
	return n.Value, true
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.errorf(n, "%s must be true or false, got %s", path, kindName(n))
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		d.errorf(n, "%s: %v", path, err)
		return false, false
	}
	return b, true
}

func (d *decoder) integer(n *yaml.Node, path string, min int) (int, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.errorf(n, "%s must be an integer, got %s", path, kindName(n))
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil || v < min {
		d.errorf(n, "%s must be an integer of at least %d, got %s", path, min, n.Value)
		return 0, false
	}
	return v, true
}

func (d *decoder) enum(n *yaml.Node, path string, values []string) (string, bool) {
	s, ok := d.str(n, path)
	if !ok {
		return "", false
	}
	if !contains(values, s) {
		d.errorf(n, "%s: %q is not one of %s%s", path, s, strings.Join(values, ", "), didYouMean(s, values))
		return "", false
	}
	return s, true
}

// strings reads a string or a list of strings.
func (d *decoder) strings(n *yaml.Node, path string) ([]string, bool) {
	if n.Kind == yaml.ScalarNode {
		s, ok := d.str(n, path)
		return []string{s}, ok
	}
	list, ok := d.stringList(n, path)
	return list, ok
}

func (d *decoder) stringList(n *yaml.Node, path string) ([]string, bool) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list of strings, got %s", path, kindName(n))
		return nil, false
	}
	out := []string{}
	ok := true
	for i, e := range n.Content {
		s, good := d.str(resolve(e), fmt.Sprintf("%s[%d]", path, i))
		if good {
			out = append(out, s)
		}
		ok = ok && good
	}
	return out, ok
}

// value converts a YAML node to plain data: map[string]any, []any, string,
// bool, nil, int (integral numbers) and float64, the types detections and
// run results hold.
func (d *decoder) value(n *yaml.Node, path string) (any, bool) {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		ps, ok := d.pairs(n, path)
		m := make(map[string]any, len(ps))
		for _, p := range ps {
			v, good := d.value(p.val, join(path, p.key.Value))
			ok = ok && good
			m[p.key.Value] = v
		}
		return m, ok
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		ok := true
		for i, e := range n.Content {
			v, good := d.value(e, fmt.Sprintf("%s[%d]", path, i))
			ok = ok && good
			l[i] = v
		}
		return l, ok
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, true
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				d.errorf(n, "%s: %v", path, err)
				return nil, false
			}
			return b, true
		case "!!int":
			var i int64
			if err := n.Decode(&i); err == nil && i >= -(1<<53) && i <= 1<<53 {
				return int(i), true
			}
			f, err := strconv.ParseFloat(n.Value, 64)
			if err != nil {
				d.errorf(n, "%s: number %s is out of range", path, n.Value)
				return nil, false
			}
			return f, true
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				d.errorf(n, "%s: %s is not a finite number", path, n.Value)
				return nil, false
			}
			if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
				return int(f), true
			}
			return f, true
		}
		return n.Value, true
	}
	d.errorf(n, "%s: unsupported YAML value", path)
	return nil, false
}

func (d *decoder) mapping(n *yaml.Node, path string) (map[string]any, bool) {
	if resolve(n).Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping, got %s", path, kindName(resolve(n)))
		return nil, false
	}
	v, ok := d.value(n, path)
	m, _ := v.(map[string]any)
	return m, ok
}

func (d *decoder) topLevel(n *yaml.Node, f *File) {
	fs, ok := d.fields(n, "test file", "playbook", "groups", "approval_defaults", "cases")
	if !ok {
		return
	}
	if p := fs["playbook"]; p != nil {
		f.Playbook, _ = d.str(p, "playbook")
		f.playbookNode = p
	}
	if g := fs["groups"]; g != nil {
		f.Groups = map[string][]string{}
		ps, _ := d.pairs(g, "groups")
		for _, p := range ps {
			members, _ := d.strings(p.val, "groups."+p.key.Value)
			f.Groups[p.key.Value] = members
		}
	}
	if a := fs["approval_defaults"]; a != nil {
		af, ok := d.fields(a, "approval_defaults", "users", "groups", "timeout", "channel")
		if ok {
			if v := af["users"]; v != nil {
				f.ApprovalDefaults.Users, _ = d.stringList(v, "approval_defaults.users")
			}
			if v := af["groups"]; v != nil {
				f.ApprovalDefaults.Groups, _ = d.stringList(v, "approval_defaults.groups")
			}
			if v := af["timeout"]; v != nil {
				if s, ok := d.str(v, "approval_defaults.timeout"); ok {
					dur, err := playbook.ParseDuration(s)
					if err != nil {
						d.errorf(v, "approval_defaults.timeout: %v", err)
					}
					f.ApprovalDefaults.Timeout = dur
				}
			}
			if v := af["channel"]; v != nil {
				f.ApprovalDefaults.Channel, _ = d.str(v, "approval_defaults.channel")
			}
		}
	}
	if !d.require(n, fs, "test file", "cases") {
		return
	}
	cs := fs["cases"]
	if cs.Kind != yaml.SequenceNode {
		d.errorf(cs, "cases must be a list, got %s", kindName(cs))
		return
	}
	if len(cs.Content) == 0 {
		d.errorf(cs, "cases: a test file needs at least one case")
	}
	names := map[string]int{}
	for i, cn := range cs.Content {
		c := d.testCase(resolve(cn), i)
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
	fs, ok := d.fields(n, path, caseKeys...)
	if !ok {
		return nil
	}
	c := &Case{Index: i, node: n, Stubs: map[string]*Stub{}, Approvals: map[string]*Approval{}}
	if d.require(n, fs, path, "name") {
		c.Name, _ = d.str(fs["name"], path+".name")
	}
	if d.require(n, fs, path, "detection") {
		c.Detection, c.DetectionFile = d.detection(fs["detection"], fs["patch"], path)
	}
	if v := fs["requester"]; v != nil {
		c.Requester, _ = d.str(v, path+".requester")
	}
	if v := fs["dry_run"]; v != nil {
		c.DryRun, _ = d.boolean(v, path+".dry_run")
	}
	if v := fs["stubs"]; v != nil {
		ps, _ := d.pairs(v, path+".stubs")
		for _, p := range ps {
			sp := path + ".stubs." + p.key.Value
			d.stepID(p.key, sp)
			if s := d.stub(p.val, sp, true, true); s != nil {
				c.Stubs[p.key.Value] = s
				c.stubKeys = append(c.stubKeys, p.key)
			}
		}
	}
	if v := fs["approvals"]; v != nil {
		ps, _ := d.pairs(v, path+".approvals")
		for _, p := range ps {
			ap := path + ".approvals." + p.key.Value
			d.stepID(p.key, ap)
			if a := d.approval(p.val, ap); a != nil {
				c.Approvals[p.key.Value] = a
				c.apprKeys = append(c.apprKeys, p.key)
			}
		}
	}
	if d.require(n, fs, path, "expect") {
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
		m, ok := d.mapping(n, path+".detection")
		if !ok {
			return nil, ""
		}
		det = m
	default:
		d.errorf(n, "%s.detection must be a file name or a mapping, got %s", path, kindName(n))
		return nil, ""
	}
	where := n
	if patch != nil {
		pm, ok := d.mapping(patch, path+".patch")
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
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
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

var stubKeys = []string{"output", "error", "retryable", "attempts", "items"}

// stub reads one stub; attempts and items may nest (items may hold
// attempts, not the other way round).
func (d *decoder) stub(n *yaml.Node, path string, allowItems, allowAttempts bool) *Stub {
	allowed := []string{"output", "error", "retryable"}
	if allowAttempts {
		allowed = append(allowed, "attempts")
	}
	if allowItems {
		allowed = append(allowed, "items")
	}
	ps, ok := d.pairs(n, path)
	if !ok {
		return nil
	}
	fs := map[string]*yaml.Node{}
	for _, p := range ps {
		if !contains(allowed, p.key.Value) {
			hint := didYouMean(p.key.Value, allowed)
			if contains(stubKeys, p.key.Value) {
				hint = fmt.Sprintf(" (%s is not allowed here: items may hold attempts, not the other way round)", p.key.Value)
			}
			d.errorf(p.key, "%s: unknown key %q%s", path, p.key.Value, hint)
			continue
		}
		fs[p.key.Value] = p.val
	}
	s := &Stub{node: resolve(n)}
	var kinds []string
	for _, k := range []string{"output", "error", "attempts", "items"} {
		if fs[k] != nil {
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) == 0:
		d.errorf(n, "%s: a stub needs one of output, error, attempts or items", path)
		return nil
	case len(kinds) > 1:
		d.errorf(n, "%s: a stub has one of output, error, attempts or items, not %s", path, strings.Join(kinds, " and "))
		return nil
	}
	if v := fs["retryable"]; v != nil {
		if fs["error"] == nil {
			d.errorf(v, "%s.retryable applies to an error stub only", path)
		}
		s.Retryable, _ = d.boolean(v, path+".retryable")
	}
	switch kinds[0] {
	case "output":
		s.hasOutput = true
		s.outputNode = fs["output"]
		if resolve(fs["output"]).Kind == yaml.ScalarNode && resolve(fs["output"]).Tag == "!!null" {
			s.Output = map[string]any{}
			break
		}
		m, ok := d.mapping(fs["output"], path+".output")
		if !ok {
			return nil
		}
		s.Output = m
	case "error":
		msg, ok := d.str(fs["error"], path+".error")
		if !ok {
			return nil
		}
		s.Error = msg
	case "attempts":
		s.attNode = fs["attempts"]
		list := resolve(fs["attempts"])
		if list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
			d.errorf(list, "%s.attempts must be a non-empty list of stubs, got %s", path, kindName(list))
			return nil
		}
		for i, e := range list.Content {
			a := d.stub(e, fmt.Sprintf("%s.attempts[%d]", path, i), false, false)
			if a == nil {
				return nil
			}
			s.Attempts = append(s.Attempts, a)
		}
	case "items":
		s.itemsNode = fs["items"]
		list := resolve(fs["items"])
		if list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
			d.errorf(list, "%s.items must be a non-empty list of stubs, got %s", path, kindName(list))
			return nil
		}
		for i, e := range list.Content {
			it := d.stub(e, fmt.Sprintf("%s.items[%d]", path, i), false, true)
			if it == nil {
				return nil
			}
			s.Items = append(s.Items, it)
		}
	}
	return s
}

var approvalKeys = []string{"approve", "deny", "reason", "votes", "after", "timeout"}

func (d *decoder) approval(n *yaml.Node, path string) *Approval {
	fs, ok := d.fields(n, path, approvalKeys...)
	if !ok {
		return nil
	}
	a := &Approval{node: resolve(n), After: defaultVoteDelay}
	if v := fs["timeout"]; v != nil {
		a.Timeout, _ = d.boolean(v, path+".timeout")
		if !a.Timeout {
			d.errorf(v, "%s.timeout: false is the default; leave it out", path)
			return nil
		}
		for _, k := range []string{"approve", "deny", "votes", "reason", "after"} {
			if fs[k] != nil {
				d.errorf(fs[k], "%s: timeout: true means nobody answers; %s does not apply", path, k)
				return nil
			}
		}
		return a
	}
	if v := fs["after"]; v != nil {
		if s, ok := d.str(v, path+".after"); ok {
			dur, err := playbook.ParseDuration(s)
			if err != nil {
				d.errorf(v, "%s.after: %v", path, err)
			}
			a.After = dur.D()
		}
	}
	reason := ""
	if v := fs["reason"]; v != nil {
		reason, _ = d.str(v, path+".reason")
	}
	if v := fs["votes"]; v != nil {
		for _, k := range []string{"approve", "deny", "reason"} {
			if fs[k] != nil {
				d.errorf(fs[k], "%s: use either votes or approve/deny/reason, not both", path)
				return nil
			}
		}
		list := resolve(v)
		if list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
			d.errorf(list, "%s.votes must be a non-empty list, got %s", path, kindName(list))
			return nil
		}
		for i, e := range list.Content {
			vp := fmt.Sprintf("%s.votes[%d]", path, i)
			vf, ok := d.fields(e, vp, "approve", "deny", "reason", "refused")
			if !ok {
				continue
			}
			var vote Vote
			switch {
			case vf["approve"] != nil && vf["deny"] != nil:
				d.errorf(e, "%s: a vote is approve or deny, not both", vp)
				continue
			case vf["approve"] != nil:
				vote.Approve = true
				vote.User, _ = d.str(vf["approve"], vp+".approve")
			case vf["deny"] != nil:
				vote.User, _ = d.str(vf["deny"], vp+".deny")
			default:
				d.errorf(e, "%s: a vote needs approve: USER or deny: USER", vp)
				continue
			}
			if r := vf["reason"]; r != nil {
				vote.Reason, _ = d.str(r, vp+".reason")
			}
			if r := vf["refused"]; r != nil {
				vote.Refused, _ = d.str(r, vp+".refused")
			}
			a.Votes = append(a.Votes, vote)
		}
		return a
	}
	if v := fs["approve"]; v != nil {
		users, _ := d.strings(v, path+".approve")
		for _, u := range users {
			a.Votes = append(a.Votes, Vote{User: u, Approve: true, Reason: reason})
		}
	}
	if v := fs["deny"]; v != nil {
		users, _ := d.strings(v, path+".deny")
		for _, u := range users {
			a.Votes = append(a.Votes, Vote{User: u, Reason: reason})
		}
	}
	if fs["approve"] == nil && fs["deny"] == nil {
		d.errorf(n, "%s: say who decides: approve: USERS, deny: USER, votes: [...], or timeout: true", path)
		return nil
	}
	return a
}

func (d *decoder) expect(n *yaml.Node, path string, e *Expect) {
	fs, ok := d.fields(n, path, "triggered", "status", "outcome", "outcome_detail", "error", "steps", "ran", "outputs")
	if !ok {
		return
	}
	if len(fs) == 0 {
		d.errorf(n, "%s: expect nothing? say at least one of status, steps, ran, outputs or triggered", path)
	}
	if v := fs["triggered"]; v != nil {
		b, ok := d.boolean(v, path+".triggered")
		if ok {
			e.Triggered = &b
		}
		if ok && !b && len(fs) > 1 {
			d.errorf(v, "%s: triggered: false means nothing runs; expect nothing else", path)
		}
	}
	if v := fs["status"]; v != nil {
		e.Status, _ = d.enum(v, path+".status", runStatuses)
	}
	if v := fs["error"]; v != nil {
		e.Error, _ = d.str(v, path+".error")
	}
	if v := fs["outcome"]; v != nil {
		e.Outcome, _ = d.enum(v, path+".outcome", workflows.Outcomes())
	}
	if v := fs["outcome_detail"]; v != nil {
		e.OutcomeDetail, _ = d.str(v, path+".outcome_detail")
	}
	if v := fs["steps"]; v != nil {
		ps, _ := d.pairs(v, path+".steps")
		for _, p := range ps {
			sp := path + ".steps." + p.key.Value
			d.stepID(p.key, sp)
			if se := d.stepExpect(p.val, sp); se != nil {
				se.ID = p.key.Value
				se.node = p.key
				e.Steps = append(e.Steps, se)
			}
		}
	}
	if v := fs["ran"]; v != nil {
		e.HasRan = true
		if v.Kind != yaml.SequenceNode {
			d.errorf(v, "%s.ran must be a list of step ids, got %s", path, kindName(v))
		} else {
			seen := map[string]bool{}
			for i, s := range v.Content {
				s = resolve(s)
				id, ok := d.str(s, fmt.Sprintf("%s.ran[%d]", path, i))
				if !ok {
					continue
				}
				if seen[id] {
					d.errorf(s, "%s.ran: %s is listed twice", path, id)
					continue
				}
				seen[id] = true
				e.Ran = append(e.Ran, id)
				e.ranNodes = append(e.ranNodes, s)
			}
		}
	}
	if v := fs["outputs"]; v != nil {
		ps, _ := d.pairs(v, path+".outputs")
		for _, p := range ps {
			val, ok := d.value(p.val, path+".outputs."+p.key.Value)
			if ok {
				e.Outputs = append(e.Outputs, NamedValue{Name: p.key.Value, Value: val})
				e.outNodes = append(e.outNodes, p.key)
			}
		}
	}
}

var stepExpectKeys = []string{"status", "reason", "error", "params", "output", "attempts", "gate", "items"}

func (d *decoder) stepExpect(n *yaml.Node, path string) *StepExpect {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		st, ok := d.enum(n, path, stepStatuses)
		if !ok {
			return nil
		}
		return &StepExpect{Status: st}
	}
	fs, ok := d.fields(n, path, stepExpectKeys...)
	if !ok {
		return nil
	}
	if len(fs) == 0 {
		d.errorf(n, "%s: expect nothing? say at least a status", path)
		return nil
	}
	se := &StepExpect{}
	if v := fs["status"]; v != nil {
		se.Status, _ = d.enum(v, path+".status", stepStatuses)
	}
	if v := fs["reason"]; v != nil {
		se.Reason, _ = d.str(v, path+".reason")
	}
	if v := fs["error"]; v != nil {
		se.Error, _ = d.str(v, path+".error")
	}
	if v := fs["params"]; v != nil {
		se.Params, se.HasParams = d.value(v, path+".params")
	}
	if v := fs["output"]; v != nil {
		se.Output, se.HasOutput = d.value(v, path+".output")
	}
	if v := fs["attempts"]; v != nil {
		if a, ok := d.integer(v, path+".attempts", 0); ok {
			se.Attempts = &a
		}
	}
	if v := fs["gate"]; v != nil {
		se.gateNode = v
		se.Gate = d.gateExpect(v, path+".gate")
	}
	if v := fs["items"]; v != nil {
		se.HasItems = true
		se.itemNode = v
		if v.Kind != yaml.SequenceNode {
			d.errorf(v, "%s.items must be a list, got %s", path, kindName(v))
		} else {
			for i, e := range v.Content {
				ip := fmt.Sprintf("%s.items[%d]", path, i)
				e = resolve(e)
				it := &ItemExpect{}
				if e.Kind == yaml.ScalarNode {
					it.Status, _ = d.enum(e, ip, stepStatuses)
					se.Items = append(se.Items, it)
					continue
				}
				ifs, ok := d.fields(e, ip, "status", "error", "params", "output", "attempts")
				if !ok {
					continue
				}
				if x := ifs["status"]; x != nil {
					it.Status, _ = d.enum(x, ip+".status", []string{playbook.StatusSucceeded, playbook.StatusFailed, playbook.StatusTimedOut})
				}
				if x := ifs["error"]; x != nil {
					it.Error, _ = d.str(x, ip+".error")
				}
				if x := ifs["params"]; x != nil {
					it.Params, it.HasParams = d.value(x, ip+".params")
				}
				if x := ifs["output"]; x != nil {
					it.Output, it.HasOutput = d.value(x, ip+".output")
				}
				if x := ifs["attempts"]; x != nil {
					if a, ok := d.integer(x, ip+".attempts", 0); ok {
						it.Attempts = &a
					}
				}
				se.Items = append(se.Items, it)
			}
		}
	}
	return se
}

func (d *decoder) gateExpect(n *yaml.Node, path string) *GateExpect {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Value == "none" {
		return &GateExpect{None: true}
	}
	if n.Kind == yaml.ScalarNode {
		st, ok := d.enum(n, path, append([]string{"none"}, gateStates...))
		if !ok {
			return nil
		}
		return &GateExpect{State: st}
	}
	fs, ok := d.fields(n, path, "state", "approvers", "by", "escalated")
	if !ok {
		return nil
	}
	g := &GateExpect{}
	if v := fs["state"]; v != nil {
		g.State, _ = d.enum(v, path+".state", gateStates)
	}
	if v := fs["approvers"]; v != nil {
		g.Approvers, _ = d.stringList(v, path+".approvers")
	}
	if v := fs["by"]; v != nil {
		g.By, _ = d.str(v, path+".by")
	}
	if v := fs["escalated"]; v != nil {
		if b, ok := d.boolean(v, path+".escalated"); ok {
			g.Escalated = &b
		}
	}
	if len(fs) == 0 {
		d.errorf(n, "%s: expect nothing? say state, approvers, by or escalated (or gate: none)", path)
	}
	return g
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// didYouMean suggests the closest candidate, if one is close enough.
func didYouMean(got string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := levenshtein(strings.ToLower(got), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(got)/3) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
