package pbtest

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
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
	f := &File{Path: path, src: src}
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
		m, ok := d.r.PlainMapping(n, path+".detection")
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
		pm, ok := d.r.PlainMapping(patch, path+".patch")
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
	ps, ok := d.r.Mapping(n, path)
	if !ok {
		return nil
	}
	fs := map[string]*yaml.Node{}
	for _, p := range ps {
		if !yamlx.Contains(allowed, p.Key.Value) {
			hint := yamlx.DidYouMean(p.Key.Value, allowed)
			if yamlx.Contains(stubKeys, p.Key.Value) {
				hint = fmt.Sprintf(" (%s is not allowed here: items may hold attempts, not the other way round)", p.Key.Value)
			}
			d.errorf(p.Key, "%s: unknown key %q%s", path, p.Key.Value, hint)
			continue
		}
		fs[p.Key.Value] = p.Value
	}
	s := &Stub{node: yamlx.Resolve(n)}
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
		s.Retryable, _ = d.r.Bool(v, path+".retryable")
	}
	switch kinds[0] {
	case "output":
		s.hasOutput = true
		s.outputNode = fs["output"]
		if yamlx.Resolve(fs["output"]).Kind == yaml.ScalarNode && yamlx.Resolve(fs["output"]).Tag == "!!null" {
			s.Output = map[string]any{}
			break
		}
		m, ok := d.r.PlainMapping(fs["output"], path+".output")
		if !ok {
			return nil
		}
		s.Output = m
	case "error":
		msg, ok := d.r.String(fs["error"], path+".error")
		if !ok {
			return nil
		}
		s.Error = msg
	case "attempts":
		s.attNode = fs["attempts"]
		list := yamlx.Resolve(fs["attempts"])
		if list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
			d.errorf(list, "%s.attempts must be a non-empty list of stubs, got %s", path, yamlx.KindName(list))
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
		list := yamlx.Resolve(fs["items"])
		if list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
			d.errorf(list, "%s.items must be a non-empty list of stubs, got %s", path, yamlx.KindName(list))
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
	fs, ok := d.r.Fields(n, path, approvalKeys...)
	if !ok {
		return nil
	}
	a := &Approval{node: yamlx.Resolve(n), After: defaultVoteDelay}
	if v := fs["timeout"]; v != nil {
		a.Timeout, _ = d.r.Bool(v, path+".timeout")
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
		if s, ok := d.r.String(v, path+".after"); ok {
			dur, err := playbook.ParseDuration(s)
			if err != nil {
				d.errorf(v, "%s.after: %v", path, err)
			}
			a.After = dur.D()
		}
	}
	reason := ""
	if v := fs["reason"]; v != nil {
		reason, _ = d.r.String(v, path+".reason")
	}
	if v := fs["votes"]; v != nil {
		for _, k := range []string{"approve", "deny", "reason"} {
			if fs[k] != nil {
				d.errorf(fs[k], "%s: use either votes or approve/deny/reason, not both", path)
				return nil
			}
		}
		list := yamlx.Resolve(v)
		if list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
			d.errorf(list, "%s.votes must be a non-empty list, got %s", path, yamlx.KindName(list))
			return nil
		}
		for i, e := range list.Content {
			vp := fmt.Sprintf("%s.votes[%d]", path, i)
			vf, ok := d.r.Fields(e, vp, "approve", "deny", "reason", "refused")
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
				vote.User, _ = d.r.String(vf["approve"], vp+".approve")
			case vf["deny"] != nil:
				vote.User, _ = d.r.String(vf["deny"], vp+".deny")
			default:
				d.errorf(e, "%s: a vote needs approve: USER or deny: USER", vp)
				continue
			}
			if r := vf["reason"]; r != nil {
				vote.Reason, _ = d.r.String(r, vp+".reason")
			}
			if r := vf["refused"]; r != nil {
				vote.Refused, _ = d.r.String(r, vp+".refused")
			}
			a.Votes = append(a.Votes, vote)
		}
		return a
	}
	if v := fs["approve"]; v != nil {
		users, _ := d.r.Strings(v, path+".approve")
		for _, u := range users {
			a.Votes = append(a.Votes, Vote{User: u, Approve: true, Reason: reason})
		}
	}
	if v := fs["deny"]; v != nil {
		users, _ := d.r.Strings(v, path+".deny")
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
	fs, ok := d.r.Fields(n, path, "triggered", "status", "outcome", "outcome_detail", "error", "steps", "ran", "outputs")
	if !ok {
		return
	}
	if len(fs) == 0 {
		d.errorf(n, "%s: expect nothing? say at least one of status, steps, ran, outputs or triggered", path)
	}
	if v := fs["triggered"]; v != nil {
		b, ok := d.r.Bool(v, path+".triggered")
		if ok {
			e.Triggered = &b
		}
		if ok && !b && len(fs) > 1 {
			d.errorf(v, "%s: triggered: false means nothing runs; expect nothing else", path)
		}
	}
	if v := fs["status"]; v != nil {
		e.Status, _ = d.r.Enum(v, path+".status", runStatuses)
	}
	if v := fs["error"]; v != nil {
		e.Error, _ = d.r.String(v, path+".error")
	}
	if v := fs["outcome"]; v != nil {
		e.Outcome, _ = d.r.Enum(v, path+".outcome", workflows.Outcomes())
	}
	if v := fs["outcome_detail"]; v != nil {
		e.OutcomeDetail, _ = d.r.String(v, path+".outcome_detail")
	}
	if v := fs["steps"]; v != nil {
		ps, _ := d.r.Mapping(v, path+".steps")
		for _, p := range ps {
			sp := path + ".steps." + p.Key.Value
			d.stepID(p.Key, sp)
			if se := d.stepExpect(p.Value, sp); se != nil {
				se.ID = p.Key.Value
				se.node = p.Key
				e.Steps = append(e.Steps, se)
			}
		}
	}
	if v := fs["ran"]; v != nil {
		e.HasRan = true
		if v.Kind != yaml.SequenceNode {
			d.errorf(v, "%s.ran must be a list of step ids, got %s", path, yamlx.KindName(v))
		} else {
			seen := map[string]bool{}
			for i, s := range v.Content {
				s = yamlx.Resolve(s)
				id, ok := d.r.String(s, fmt.Sprintf("%s.ran[%d]", path, i))
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
		ps, _ := d.r.Mapping(v, path+".outputs")
		for _, p := range ps {
			val, ok := d.r.Value(p.Value, path+".outputs."+p.Key.Value)
			if ok {
				e.Outputs = append(e.Outputs, NamedValue{Name: p.Key.Value, Value: val})
				e.outNodes = append(e.outNodes, p.Key)
			}
		}
	}
}

var stepExpectKeys = []string{"status", "reason", "error", "params", "output", "attempts", "gate", "items"}

func (d *decoder) stepExpect(n *yaml.Node, path string) *StepExpect {
	n = yamlx.Resolve(n)
	if n.Kind == yaml.ScalarNode {
		st, ok := d.r.Enum(n, path, stepStatuses)
		if !ok {
			return nil
		}
		return &StepExpect{Status: st}
	}
	fs, ok := d.r.Fields(n, path, stepExpectKeys...)
	if !ok {
		return nil
	}
	if len(fs) == 0 {
		d.errorf(n, "%s: expect nothing? say at least a status", path)
		return nil
	}
	se := &StepExpect{}
	if v := fs["status"]; v != nil {
		se.Status, _ = d.r.Enum(v, path+".status", stepStatuses)
	}
	if v := fs["reason"]; v != nil {
		se.Reason, _ = d.r.String(v, path+".reason")
	}
	if v := fs["error"]; v != nil {
		se.Error, _ = d.r.String(v, path+".error")
	}
	if v := fs["params"]; v != nil {
		se.Params, se.HasParams = d.r.Value(v, path+".params")
	}
	if v := fs["output"]; v != nil {
		se.Output, se.HasOutput = d.r.Value(v, path+".output")
	}
	if v := fs["attempts"]; v != nil {
		if a, ok := d.r.Int(v, path+".attempts", 0); ok {
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
			d.errorf(v, "%s.items must be a list, got %s", path, yamlx.KindName(v))
		} else {
			for i, e := range v.Content {
				ip := fmt.Sprintf("%s.items[%d]", path, i)
				e = yamlx.Resolve(e)
				it := &ItemExpect{}
				if e.Kind == yaml.ScalarNode {
					it.Status, _ = d.r.Enum(e, ip, stepStatuses)
					se.Items = append(se.Items, it)
					continue
				}
				ifs, ok := d.r.Fields(e, ip, "status", "error", "params", "output", "attempts")
				if !ok {
					continue
				}
				if x := ifs["status"]; x != nil {
					it.Status, _ = d.r.Enum(x, ip+".status", []string{playbook.StatusSucceeded, playbook.StatusFailed, playbook.StatusTimedOut})
				}
				if x := ifs["error"]; x != nil {
					it.Error, _ = d.r.String(x, ip+".error")
				}
				if x := ifs["params"]; x != nil {
					it.Params, it.HasParams = d.r.Value(x, ip+".params")
				}
				if x := ifs["output"]; x != nil {
					it.Output, it.HasOutput = d.r.Value(x, ip+".output")
				}
				if x := ifs["attempts"]; x != nil {
					if a, ok := d.r.Int(x, ip+".attempts", 0); ok {
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
	n = yamlx.Resolve(n)
	if n.Kind == yaml.ScalarNode && n.Value == "none" {
		return &GateExpect{None: true}
	}
	if n.Kind == yaml.ScalarNode {
		st, ok := d.r.Enum(n, path, append([]string{"none"}, gateStates...))
		if !ok {
			return nil
		}
		return &GateExpect{State: st}
	}
	fs, ok := d.r.Fields(n, path, "state", "approvers", "by", "escalated")
	if !ok {
		return nil
	}
	g := &GateExpect{}
	if v := fs["state"]; v != nil {
		g.State, _ = d.r.Enum(v, path+".state", gateStates)
	}
	if v := fs["approvers"]; v != nil {
		g.Approvers, _ = d.r.StringList(v, path+".approvers")
	}
	if v := fs["by"]; v != nil {
		g.By, _ = d.r.String(v, path+".by")
	}
	if v := fs["escalated"]; v != nil {
		if b, ok := d.r.Bool(v, path+".escalated"); ok {
			g.Escalated = &b
		}
	}
	if len(fs) == 0 {
		d.errorf(n, "%s: expect nothing? say state, approvers, by or escalated (or gate: none)", path)
	}
	return g
}
