package pbtest

// The world of a case: stubs for the steps' actions and the answers of
// approvers.

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/yamlx"
)

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
		if s.Attempts = d.stubList(fs["attempts"], path+".attempts", false); s.Attempts == nil {
			return nil
		}
	case "items":
		s.itemsNode = fs["items"]
		if s.Items = d.stubList(fs["items"], path+".items", true); s.Items == nil {
			return nil
		}
	}
	return s
}

// stubList decodes a stub's attempts or items: a non-empty list of stubs.
// An item may have attempts of its own; an attempt nests nothing. nil
// after an error.
func (d *decoder) stubList(n *yaml.Node, path string, items bool) []*Stub {
	list := yamlx.Resolve(n)
	if list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		d.errorf(list, "%s must be a non-empty list of stubs, got %s", path, yamlx.KindName(list))
		return nil
	}
	var out []*Stub
	for i, e := range list.Content {
		st := d.stub(e, fmt.Sprintf("%s[%d]", path, i), false, items)
		if st == nil {
			return nil
		}
		out = append(out, st)
	}
	return out
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
