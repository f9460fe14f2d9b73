// Package policy is the site's guardrails: rules in policy.yaml that the
// engine enforces on every contain step whatever a playbook says —
// protected assets, a confidence floor for automatic containment, budgets
// of contain actions per time window, and safe mode.
package policy

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/internal/conditions"
)

// Decisions a guardrail check can return.
const (
	Allow  = "allow"  // run as the playbook says
	Gate   = "gate"   // a human must approve
	Refuse = "refuse" // never run
)

// Policy is a parsed policy.yaml.
type Policy struct {
	Protected       Protected `yaml:"protected" json:"protected"`
	ConfidenceFloor int       `yaml:"confidence_floor" json:"confidence_floor"`
	Budgets         []Budget  `yaml:"budgets" json:"budgets"`
	SafeMode        bool      `yaml:"safe_mode" json:"safe_mode"`
	// Approvers for gates the policy forces (default: the site defaults).
	Approvers []string `yaml:"approvers" json:"approvers,omitempty"`
}

// Protected lists assets no automatic containment may touch.
type Protected struct {
	Hosts []string `yaml:"hosts" json:"hosts,omitempty"` // glob patterns
	Users []string `yaml:"users" json:"users,omitempty"` // glob patterns
	CIDRs []string `yaml:"cidrs" json:"cidrs,omitempty"`
	Tags  []string `yaml:"tags" json:"tags,omitempty"` // asset tags (device.labels / device.groups[].name / a `tags` param)
	// Action is what happens to a contain step on a protected target:
	// gate (default: always a human) or refuse (never).
	Action string `yaml:"action" json:"action,omitempty"`

	prefixes []netip.Prefix
}

// Budget limits automatic contain actions: at most Max per Per window
// across all runs. Action is a catalog name or "*" for every contain action.
type Budget struct {
	Action string        `yaml:"action" json:"action"`
	Max    int           `yaml:"max" json:"max"`
	Per    time.Duration `yaml:"-" json:"per"`
	PerRaw string        `yaml:"per" json:"-"`
}

// Load reads and validates a policy file. A missing file is an empty policy
// when optional is true.
func Load(path string, optional bool) (*Policy, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && optional {
		return &Policy{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	return Parse(path, b)
}

// Parse validates policy YAML and reports every problem with its position.
func Parse(name string, src []byte) (*Policy, error) {
	var p Policy
	if len(bytes.TrimSpace(src)) == 0 {
		return &p, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	switch p.Protected.Action {
	case "", Gate, Refuse:
	default:
		add("protected.action must be gate or refuse, got %q", p.Protected.Action)
	}
	for i, c := range p.Protected.CIDRs {
		pfx, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			add("protected.cidrs[%d]: %q is not a CIDR", i, c)
			continue
		}
		p.Protected.prefixes = append(p.Protected.prefixes, pfx.Masked())
	}
	if p.ConfidenceFloor < 0 || p.ConfidenceFloor > 100 {
		add("confidence_floor must be between 0 and 100, got %d", p.ConfidenceFloor)
	}
	for i := range p.Budgets {
		b := &p.Budgets[i]
		if b.Action == "" {
			add("budgets[%d].action is required (a catalog action or \"*\")", i)
		}
		if b.Max < 1 {
			add("budgets[%d].max must be at least 1, got %d", i, b.Max)
		}
		d, err := parseWindow(b.PerRaw)
		if err != nil {
			add("budgets[%d].per: %v", i, err)
		}
		b.Per = d
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("%s: %s", name, strings.Join(probs, "; "))
	}
	return &p, nil
}

func parseWindow(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("is required (e.g. 1h)")
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("invalid duration %q (e.g. 30m, 1h, 1d)", s)
	}
	return v, nil
}

// Request describes a contain step about to run.
type Request struct {
	WorkflowID string         `json:"workflow_id"`
	StepID     string         `json:"step_id"`
	Action     string         `json:"action"`
	Params     map[string]any `json:"params"`
	Detection  map[string]any `json:"detection"`
	// Auto is true when nothing else gates the step: the playbook would run
	// it without a human.
	Auto bool `json:"auto"`
}

// Decision is a guardrail's verdict on a step, recorded on it.
type Decision struct {
	Decision string `json:"decision"`
	Rule     string `json:"rule,omitempty"`
	Why      string `json:"why,omitempty"`
	// Budget is the budget to reserve when the step runs automatically.
	Budget *Budget `json:"budget,omitempty"`
	// Released is true once the reserved slot was given back because the
	// action failed or was not sent.
	Released bool `json:"released,omitempty"`
}

// Evaluate applies the static rules (everything but budget counting) to a
// contain step. safeMode is the live switch (or'ed with the file's).
func (p *Policy) Evaluate(r Request, safeMode bool) Decision {
	if hit, why := p.protectedTarget(r); hit {
		if p.Protected.Action == Refuse {
			return Decision{Decision: Refuse, Rule: "protected_asset", Why: why + " (policy refuses containment of protected assets)"}
		}
		return Decision{Decision: Gate, Rule: "protected_asset", Why: why + " (never contained without a human)"}
	}
	if !r.Auto {
		return Decision{Decision: Allow}
	}
	if safeMode || p.SafeMode {
		return Decision{Decision: Gate, Rule: "safe_mode", Why: "safe mode is on: every contain step needs a human"}
	}
	if p.ConfidenceFloor > 0 {
		c, ok := confidence(r.Detection)
		if !ok || c < p.ConfidenceFloor {
			got := "none"
			if ok {
				got = strconv.Itoa(c)
			}
			return Decision{Decision: Gate, Rule: "confidence_floor", Why: fmt.Sprintf("detection confidence %s is below the floor of %d for automatic containment", got, p.ConfidenceFloor)}
		}
	}
	if b := p.budgetFor(r.Action); b != nil {
		return Decision{Decision: Allow, Budget: b}
	}
	return Decision{Decision: Allow}
}

func (p *Policy) budgetFor(action string) *Budget {
	for i := range p.Budgets {
		if p.Budgets[i].Action == action {
			b := p.Budgets[i]
			return &b
		}
	}
	for i := range p.Budgets {
		if p.Budgets[i].Action == "*" {
			b := p.Budgets[i]
			return &b
		}
	}
	return nil
}

func confidence(det map[string]any) (int, bool) {
	switch v := det["confidence_score"].(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case float64:
		return int(v), true
	}
	return 0, false
}

// protectedTarget checks the step's params (and the detection's asset tags)
// against the protected lists.
func (p *Policy) protectedTarget(r Request) (bool, string) {
	pr := &p.Protected
	keys := make([]string, 0, len(r.Params))
	for k := range r.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, s := range stringsIn(r.Params[k]) {
			lk := strings.ToLower(k)
			if strings.Contains(lk, "host") || strings.Contains(lk, "machine") || strings.Contains(lk, "device") {
				for _, pat := range pr.Hosts {
					if conditions.Glob(pat, s) {
						return true, fmt.Sprintf("host %s matches protected pattern %q", s, pat)
					}
				}
			}
			if strings.Contains(lk, "user") || strings.Contains(lk, "login") || strings.Contains(lk, "email") {
				for _, pat := range pr.Users {
					if conditions.Glob(pat, s) {
						return true, fmt.Sprintf("user %s matches protected pattern %q", s, pat)
					}
				}
			}
			if addr, err := netip.ParseAddr(s); err == nil {
				for _, pfx := range pr.prefixes {
					if pfx.Contains(addr.Unmap()) {
						return true, fmt.Sprintf("IP %s is in protected network %s", s, pfx)
					}
				}
			}
			if lk == "tags" || lk == "tag" {
				for _, t := range pr.Tags {
					if strings.EqualFold(t, s) {
						return true, fmt.Sprintf("asset tag %q is protected", s)
					}
				}
			}
		}
	}
	for _, tag := range assetTags(r.Detection) {
		for _, t := range pr.Tags {
			if strings.EqualFold(t, tag) {
				return true, fmt.Sprintf("the detection's asset is tagged %q, which is protected", tag)
			}
		}
	}
	return false, ""
}

func stringsIn(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{strings.TrimSpace(x)}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, stringsIn(e)...)
		}
		return out
	}
	return nil
}

// assetTags reads OCSF device.labels and device.groups[].name.
func assetTags(det map[string]any) []string {
	dev, _ := det["device"].(map[string]any)
	var out []string
	out = append(out, stringsIn(dev["labels"])...)
	if groups, ok := dev["groups"].([]any); ok {
		for _, g := range groups {
			if gm, ok := g.(map[string]any); ok {
				if n, ok := gm["name"].(string); ok {
					out = append(out, n)
				}
			}
		}
	}
	return out
}
