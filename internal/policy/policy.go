// Package policy is the site's guardrails: rules in policy.yaml that the
// engine enforces on every contain step whatever a playbook says —
// protected assets, a confidence floor for automatic containment, budgets
// of contain actions per time window, and safe mode.
package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/internal/conditions"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/identity"
	"github.com/riposte-dev/riposte/internal/safefile"
	"github.com/riposte-dev/riposte/internal/yamlx"
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
	// Approvers (Slack user ids) decide the gates the policy forces,
	// instead of the step's approvers (default: the step's, else the
	// site defaults).
	Approvers []string `yaml:"approvers" json:"approvers,omitempty"`

	// Warnings are the file's problems that do not stop it loading, with
	// their positions: the worker logs them at start and on reload,
	// riposte doctor prints them.
	Warnings yamlx.Diagnostics `yaml:"-" json:"-"`
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
// across all runs. Action is a catalog name, or "*" for every contain action
// without a budget of its own (an action with its own budget counts against
// that one only; "*" is not a second, site-wide cap).
type Budget struct {
	Action string        `yaml:"action" json:"action"`
	Max    int           `yaml:"max" json:"max"`
	Per    time.Duration `yaml:"-" json:"per"`
	PerRaw string        `yaml:"per" json:"-"`
}

// MaxFileBytes bounds policy.yaml.
const MaxFileBytes = 1 << 20

// Actions is the action catalog a policy's budgets are checked against:
// *catalog.Catalog (activities.Catalog()). internal/catalog imports this
// package, so the catalog is passed in rather than imported.
type Actions interface {
	// Names lists every action, sorted.
	Names() []string
	// IsContain reports whether name is an action of the catalog, and
	// whether it is a contain action.
	IsContain(name string) (known, contain bool)
}

// Options tune LoadWith and ParseWith.
type Options struct {
	// Actions, when set, checks each budget's action: a contain action of
	// the catalog or "*". The worker always sets it (activities.LoadPolicy);
	// nil checks only the file's own shape.
	Actions Actions
}

// Load reads and validates a policy file without the catalog (see
// LoadWith). A missing file is an empty policy when optional is true.
func Load(path string, optional bool) (*Policy, error) {
	return LoadWith(path, optional, Options{})
}

// LoadWith reads and validates a policy file. A missing file is an empty
// policy when optional is true.
func LoadWith(path string, optional bool, o Options) (*Policy, error) {
	b, err := safefile.ReadFile(path, MaxFileBytes)
	if errors.Is(err, fs.ErrNotExist) && optional {
		return &Policy{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	return ParseWith(path, b, o)
}

var topLevelKeys = []string{"protected", "confidence_floor", "budgets", "safe_mode", "approvers"}

// TopLevelKeys are the keys a policy file may hold at its top: what tells
// it from a playbook beside it (playbook.SiteKind).
func TopLevelKeys() []string { return slices.Clone(topLevelKeys) }

// Parse is ParseWith without the catalog: budgets are not checked against
// the actions (tools without the catalog; the worker uses ParseWith).
func Parse(name string, src []byte) (*Policy, error) {
	return ParseWith(name, src, Options{})
}

// ParseWith validates policy YAML and reports every problem at once with
// its position: the error is a yamlx.Diagnostics, one file:line:col:
// message per line. The size and alias-expansion budgets are yamlx's.
func ParseWith(name string, src []byte, o Options) (*Policy, error) {
	r := &yamlx.Reporter{File: name, Src: src}
	var p Policy
	root, ok := yamlx.Decode(r, src, yamlx.Options{MaxBytes: MaxFileBytes,
		SecondDocument: "policy.yaml holds one YAML document; found a second"})
	if ok && root != nil && !yamlx.IsNull(root) {
		fields, _ := r.Fields(root, "policy", topLevelKeys...)
		if n := present(fields["protected"]); n != nil {
			p.Protected = protected(r, n)
		}
		if n := present(fields["confidence_floor"]); n != nil {
			if v, ok := integer(r, n, "confidence_floor"); ok {
				p.ConfidenceFloor = v
				if v < 0 || v > 100 {
					r.Errorf(n, "confidence_floor must be between 0 and 100, got %d", v)
				}
			}
		}
		if n := present(fields["budgets"]); n != nil {
			p.Budgets = budgets(r, n, o.Actions)
		}
		if n := present(fields["safe_mode"]); n != nil {
			p.SafeMode, _ = r.Bool(n, "safe_mode")
		}
		if n := present(fields["approvers"]); n != nil {
			p.Approvers, _ = r.StringList(n, "approvers")
			// A forced gate compares its approvers with the Slack user id
			// of whoever decides: an email or a name could never decide
			// it, and a person listed twice counts once.
			seen := map[string]bool{}
			for i, e := range n.Content {
				if e.Kind != yaml.ScalarNode || i >= len(p.Approvers) || e.Value != p.Approvers[i] {
					continue // StringList said what is wrong
				}
				switch id := strings.ToUpper(e.Value); {
				case !identity.IsSlackUserID(e.Value):
					r.Errorf(e, "approvers[%d]: %q is not a Slack user id (U… or W…)", i, e.Value)
				case seen[id]:
					r.Errorf(e, "approvers[%d]: %q is already listed", i, e.Value)
				default:
					seen[id] = true
				}
			}
		}
	}
	if err := r.Diags.Sort().Err(); err != nil {
		return nil, err
	}
	p.Warnings = r.Diags.Warnings()
	return &p, nil
}

// lookAlikeScripts are the scripts whose letters pass for one another
// (Cyrillic с, о, р, а, е and Greek ο, ν, ρ beside Latin c, o, p, a, e, v).
var lookAlikeScripts = []struct {
	name  string
	table *unicode.RangeTable
}{{"Latin", unicode.Latin}, {"Cyrillic", unicode.Cyrillic}, {"Greek", unicode.Greek}}

// mixedScripts says why the pattern of scalar n mixes letters of the
// look-alike scripts (the usual confusable rule: a name is written in one
// of them), naming the first letter of the script with fewest letters,
// with its code point and its column (when the source spells the value as
// is) or else its place in the pattern. "" when it does not: a pattern in
// one script, or Latin beside another script's letters (東京-dc*), is as
// written.
func mixedScripts(n *yaml.Node, src []byte) string {
	count := make([]int, len(lookAlikeScripts))
	first := make([]int, len(lookAlikeScripts))
	runes := []rune(n.Value)
	for i, c := range runes {
		for s, ls := range lookAlikeScripts {
			if unicode.IsLetter(c) && unicode.Is(ls.table, c) {
				if count[s] == 0 {
					first[s] = i
				}
				count[s]++
			}
		}
	}
	most, least, scripts := -1, -1, 0
	for s := range lookAlikeScripts {
		if count[s] == 0 {
			continue
		}
		scripts++
		if most < 0 || count[s] > count[most] || (count[s] == count[most] && first[s] < first[most]) {
			most = s
		}
	}
	if scripts < 2 {
		return ""
	}
	for s := range lookAlikeScripts {
		if count[s] > 0 && s != most && (least < 0 || count[s] < count[least] || (count[s] == count[least] && first[s] < first[least])) {
			least = s
		}
	}
	i := first[least]
	at := fmt.Sprintf(", character %d,", i+1)
	if c, ok := yamlx.ValueColumn(n, src, i); ok {
		at = fmt.Sprintf(" at column %d", c)
	}
	return fmt.Sprintf("mixes %s and %s letters: %q (U+%04X)%s is %s; a name spelt with the %s letter it looks like does not match, so it is not protected",
		lookAlikeScripts[most].name, lookAlikeScripts[least].name, string(runes[i]), runes[i], at,
		lookAlikeScripts[least].name, lookAlikeScripts[most].name)
}

// present is n unless it is absent or null (`key:` means the default).
func present(n *yaml.Node) *yaml.Node {
	if n == nil || yamlx.IsNull(n) {
		return nil
	}
	return n
}

func integer(r *yamlx.Reporter, n *yaml.Node, path string) (int, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		r.Errorf(n, "%s must be an integer, got %s", path, yamlx.KindName(n))
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 0, 32)
	if err != nil {
		r.Errorf(n, "%s: %s is out of range", path, n.Value)
		return 0, false
	}
	return int(v), true
}

func protected(r *yamlx.Reporter, n *yaml.Node) Protected {
	var pr Protected
	fields, ok := r.Fields(n, "protected", "hosts", "users", "cidrs", "tags", "action")
	if !ok {
		return pr
	}
	list := func(key string) []string {
		if v := present(fields[key]); v != nil {
			l, _ := r.StringList(v, "protected."+key)
			// Values are compared trimmed: a pattern with a space
			// around it would never match anything.
			for i, e := range v.Content {
				if e = yamlx.Resolve(e); e.Kind == yaml.ScalarNode && strings.TrimSpace(e.Value) != e.Value && strings.TrimSpace(e.Value) != "" {
					r.Errorf(e, "protected.%s[%d]: %q has a space around it and would never match (values are compared without theirs); write %q", key, i, e.Value, strings.TrimSpace(e.Value))
				}
				if e.Kind == yaml.ScalarNode {
					if w := mixedScripts(e, r.Src); w != "" {
						r.Warnf(e, "protected.%s[%d]: %q %s", key, i, e.Value, w)
					}
				}
			}
			return l
		}
		return nil
	}
	pr.Hosts, pr.Users, pr.Tags = list("hosts"), list("users"), list("tags")
	if v := present(fields["action"]); v != nil {
		pr.Action = v.Value
		if v.Kind != yaml.ScalarNode || (v.Value != Gate && v.Value != Refuse) {
			what := fmt.Sprintf("%q", v.Value)
			if v.Kind != yaml.ScalarNode {
				what = yamlx.KindName(v)
			}
			r.Errorf(v, "protected.action must be gate or refuse, got %s%s", what, yamlx.DidYouMean(v.Value, []string{Gate, Refuse}))
		}
	}
	if v := present(fields["cidrs"]); v != nil && v.Kind == yaml.SequenceNode {
		for i, e := range v.Content {
			e = yamlx.Resolve(e)
			if !yamlx.IsString(e) {
				r.Errorf(e, "protected.cidrs[%d] must be a string, got %s", i, yamlx.KindName(e))
				continue
			}
			pr.CIDRs = append(pr.CIDRs, e.Value)
			pfx, err := netip.ParsePrefix(strings.TrimSpace(e.Value))
			if err != nil {
				r.Errorf(e, "protected.cidrs[%d]: %q is not a CIDR", i, e.Value)
				continue
			}
			pr.prefixes = append(pr.prefixes, pfx.Masked())
		}
	} else if v != nil {
		r.Errorf(v, "protected.cidrs must be a list of strings, got %s", yamlx.KindName(v))
	}
	return pr
}

func budgets(r *yamlx.Reporter, n *yaml.Node, actions Actions) []Budget {
	if n.Kind != yaml.SequenceNode {
		r.Errorf(n, "budgets must be a list of {action, max, per}, got %s", yamlx.KindName(n))
		return nil
	}
	var out []Budget
	first := map[string]*yaml.Node{} // the action node of each action's first budget
	for i, e := range n.Content {
		path := fmt.Sprintf("budgets[%d]", i)
		fields, ok := r.Fields(e, path, "action", "max", "per")
		if !ok {
			continue
		}
		e = yamlx.Resolve(e)
		var b Budget
		if v := present(fields["action"]); v == nil {
			r.Errorf(e, "%s.action is required (a contain action of the catalog, or \"*\" for every contain action without a budget of its own)", path)
		} else if b.Action, ok = r.String(v, path+".action"); ok {
			if prev, dup := first[b.Action]; dup {
				// Only the first would count: the second is a mistake
				// (a typo of another action's name, or a stale line).
				line, col := yamlx.Pos(prev)
				r.Errorf(v, "%s.action: a second budget for %q (the first is at %s:%d:%d); give each action one budget", path, b.Action, r.File, line, col)
			} else {
				first[b.Action] = v
			}
			checkBudgetAction(r, v, path, b.Action, actions)
		}
		if v := present(fields["max"]); v == nil {
			r.Errorf(e, "%s.max must be at least 1, got 0", path)
		} else if m, ok := integer(r, v, path+".max"); ok {
			b.Max = m
			if m < 1 {
				r.Errorf(v, "%s.max must be at least 1, got %d", path, m)
			}
		}
		where := present(fields["per"])
		if where != nil {
			b.PerRaw = where.Value
		} else {
			where = e
		}
		d, err := parseWindow(b.PerRaw)
		if err != nil {
			r.Errorf(where, "%s.per: %v", path, err)
		}
		b.Per = d
		out = append(out, b)
	}
	return out
}

// checkBudgetAction: a budget counts a contain action of the catalog, or
// every contain action without a budget of its own ("*"). Any other name would never match a step, so
// a typo would leave automatic containment unlimited.
func checkBudgetAction(r *yamlx.Reporter, v *yaml.Node, path, action string, actions Actions) {
	if actions == nil || action == "*" {
		return
	}
	known, contain := actions.IsContain(action)
	if contain {
		return
	}
	candidates := []string{"*"}
	for _, name := range actions.Names() {
		if _, c := actions.IsContain(name); c {
			candidates = append(candidates, name)
		}
	}
	if known {
		r.Errorf(v, "%s.action: %s is not a contain action; a budget counts contain actions (or \"*\" for every contain action without a budget of its own)%s", path, action, yamlx.DidYouMean(action, candidates))
		return
	}
	r.Errorf(v, "%s.action: unknown action %q%s; a budget names a contain action of the catalog (riposte actions) or \"*\"", path, action, yamlx.DidYouMean(action, candidates))
}

// maxWindowDays is the longest budget window in days a time.Duration
// holds (about 292 years).
const maxWindowDays = int(math.MaxInt64 / int64(24*time.Hour))

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
		// More days than a time.Duration holds would wrap, often to a
		// negative window in which every reservation has expired: no
		// budget at all.
		if n > maxWindowDays {
			return 0, fmt.Errorf("%q is too long: a window is at most %dd", s, maxWindowDays)
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
	WorkflowID string         `json:"workflow_id,omitempty"`
	StepID     string         `json:"step_id,omitempty"`
	Action     string         `json:"action,omitempty"`
	Params     map[string]any `json:"params,omitempty"`
	Detection  map[string]any `json:"detection,omitempty"`
	// Finding is the run's current view of the detection (internal/finding,
	// the one reader of its OCSF fields, raised by later records): the
	// confidence floor reads its confidence.
	Finding map[string]any `json:"finding,omitempty"`
	// Auto is true when nothing else gates the step: the playbook would run
	// it without a human.
	Auto bool `json:"auto"`
	// Facts, when set, is what the rules read of the detection, taken by
	// the run before the call (see NewFacts): a check made inside the
	// step's own activity carries these few values instead of the whole
	// detection and finding in the activity's recorded input.
	Facts *Facts `json:"facts,omitempty"`
}

// Facts are the detection's values the rules read: the finding's
// confidence (nil when unknown) and the asset's tags.
type Facts struct {
	Confidence *int     `json:"confidence,omitempty"`
	AssetTags  []string `json:"asset_tags,omitempty"`
	// Devices are the detection's device and endpoints and those its
	// evidences[] name (a Microsoft Graph alert names its machine there
	// only; a CrowdStrike identity alert as its src_endpoint), with their
	// names and addresses: a step that contains one of them by name is
	// checked against protected cidrs with its addresses.
	Devices []Device `json:"devices,omitempty"`
}

// Device is a device a detection names: its host names and addresses.
type Device struct {
	Names []string `json:"names,omitempty"`
	IPs   []string `json:"ips,omitempty"`
}

// NewFacts takes the facts the rules read from a detection and its
// finding (the view internal/finding builds).
func NewFacts(detection, view map[string]any) *Facts {
	f := &Facts{AssetTags: finding.AssetTags(detection)}
	f.Devices = devicesOf(detection)
	if c, ok := finding.Confidence(view); ok {
		f.Confidence = &c
	}
	return f
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
	// Approvers, on a gate the policy forces, are the policy's approvers
	// (policy.yaml approvers:): they decide it instead of the playbook's.
	Approvers []string `json:"approvers,omitempty"`
}

// RuleUnavailable is the rule of the gate that stands in for a guardrail
// check that could not be made: the guardrails fail closed.
const RuleUnavailable = "guardrails_unavailable"

// Unavailable is the decision when the check could not be made, for why.
func Unavailable(why string) Decision {
	return Decision{Decision: Gate, Rule: RuleUnavailable, Why: "the guardrail check failed (" + why + "); a human must approve"}
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
		c, ok := confidence(r)
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

// confidence is the detection's confidence as playbooks see it
// (finding.confidence): from the view sent with the request, else the view
// of the detection with the default settings (callers that send only the
// detection).
func confidence(r Request) (int, bool) {
	if r.Facts != nil {
		if r.Facts.Confidence == nil {
			return 0, false
		}
		return *r.Facts.Confidence, true
	}
	view := r.Finding
	if view == nil {
		view = finding.Build(r.Detection, finding.DefaultConfig())
	}
	return finding.Confidence(view)
}

// protectedTarget checks the step's params (and the detection's asset tags)
// against the protected lists.
func (p *Policy) protectedTarget(r Request) (bool, string) {
	pr := &p.Protected
	if hit, why := p.protectedValue("", r.Params); hit {
		return true, why
	}
	var tags []string
	var devs []Device
	if r.Facts != nil {
		tags, devs = r.Facts.AssetTags, r.Facts.Devices
	} else {
		tags, devs = finding.AssetTags(r.Detection), devicesOf(r.Detection)
	}
	// A host contained by name has the address of the detection's device
	// (or of an endpoint, or a device its evidence names) when it is that
	// host: protected cidrs cover it too.
	if len(pr.prefixes) > 0 {
		hosts := hostValues(r.Params)
		for _, dev := range devs {
			if len(dev.IPs) == 0 {
				continue
			}
			for _, h := range hosts {
				if !slices.ContainsFunc(dev.Names, func(n string) bool { return sameHost(n, h) }) {
					continue
				}
				for _, ip := range dev.IPs {
					if hit, why := p.protectedString("ip", ip); hit {
						return true, fmt.Sprintf("host %s is the detection's device, whose %s", h, why)
					}
				}
			}
		}
	}
	for _, tag := range tags {
		for _, t := range pr.Tags {
			if tagMatches(t, tag) {
				return true, fmt.Sprintf("the detection's asset is tagged %q, which is protected", tag)
			}
		}
	}
	return false, ""
}

// tagMatches reports whether the asset tag tag is the protected tag
// protected, without regard to case. A protected tag written as a bare
// name also matches a name=value tag of that name, whatever its value: AWS
// tags are key/value pairs (GuardDuty's resources[].tags read as
// "crown-jewel=true", Security Hub's labels written so), and
// tags: ["crown-jewel"] must protect that instance as it protects a
// device labelled crown-jewel.
func tagMatches(protected, tag string) bool {
	if strings.EqualFold(protected, tag) {
		return true
	}
	name, _, ok := strings.Cut(tag, "=")
	return ok && !strings.Contains(protected, "=") && strings.EqualFold(protected, strings.TrimSpace(name))
}

// protectedValue checks every string of a param value against the
// protected lists, under the innermost map key that holds it (walkStrings):
// {"items": [{"hostname": "dc-01"}]} is the host dc-01.
//
// http.request, which may change anything, names its target where the API
// wants it: a body given as a string (sent as is) is read as JSON or as a
// form too, its keys naming its strings, and each segment of a path (and
// two segments as a network: /ip-lists/10.0.0.0/8) is checked as an IP.
func (p *Policy) protectedValue(key string, v any) (bool, string) {
	var why string
	var check func(k, s string) bool
	check = func(k, s string) bool {
		var ok bool
		s = strings.TrimSpace(s)
		if ok, why = p.protectedString(k, s); ok {
			return true
		}
		switch strings.ToLower(k) {
		case "body":
			if inner, ok := bodyValue(s); ok && walkStrings(k, inner, check) {
				return true
			}
			// Whatever its format (a list of addresses one a line or
			// comma separated, a JSON string holding several, a form
			// value): every address or network written in it.
			for _, tok := range addressTokens(s) {
				if ok, why = p.protectedString("ip", tok); ok {
					why = "body: " + why
					return true
				}
			}
		case "path":
			for _, seg := range pathTargets(s) {
				if ok, why = p.protectedString("ip", seg); ok {
					why = fmt.Sprintf("path %s: %s", s, why)
					return true
				}
			}
		}
		return false
	}
	hit := walkStrings(key, v, check)
	return hit, why
}

// bodyValue reads a string request body as the API will: JSON (an object
// or a list), else an HTML form (name=value&…).
func bodyValue(s string) (any, bool) {
	if strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
		var v any
		if json.Unmarshal([]byte(s), &v) == nil {
			return v, true
		}
	}
	if !strings.Contains(s, "=") {
		return nil, false
	}
	// A form the playbook writes carries the text it interpolates (a
	// finding's title: spaces, a "%" that is no escape); the API reads
	// every pair it can, and so does this: ParseQuery keeps the pairs it
	// could read besides the first error.
	q, _ := url.ParseQuery(s)
	if len(q) == 0 {
		return nil, false
	}
	m := make(map[string]any, len(q))
	for k, vs := range q {
		l := make([]any, len(vs))
		for i, x := range vs {
			l[i] = x
		}
		m[k] = l
	}
	return m, true
}

// ipv4Text is an IPv4 address, network or range written in text.
var ipv4Text = regexp.MustCompile(`[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?:/[0-9]{1,2}|-[0-9]{1,3}(?:\.[0-9]{1,3}){3})?`)

// dottedNumberAt: s[i] continues a dotted number (a digit, or a '.' with a
// digit beyond it), so an IPv4 match ending or starting there is part of a
// longer one (a version 1.2.3.4.5).
func dottedNumberAt(s string, i, dir int) bool {
	if i < 0 || i >= len(s) {
		return false
	}
	if s[i] >= '0' && s[i] <= '9' {
		return true
	}
	j := i + dir
	return s[i] == '.' && j >= 0 && j < len(s) && s[j] >= '0' && s[j] <= '9'
}

// addressTokens are the words of a request body that may be an address,
// a network or a range (runs of hex digits, '.', ':', '/' and '-'), with
// the body URL-unescaped too (a form's 10.20.30.40%2C10.20.30.41), and
// each path-like word's segments (pathTargets); and every IPv4 address,
// network or range written in it whatever precedes or follows it
// (src:10.20.30.40, where "c:" joins the word; 10.20.30.40:3389).
func addressTokens(s string) []string {
	texts := []string{s}
	if u, err := url.QueryUnescape(s); err == nil && u != s {
		texts = append(texts, u)
	}
	var out []string
	for _, t := range texts {
		words := strings.FieldsFunc(t, func(r rune) bool {
			return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F' || r == '.' || r == ':' || r == '/' || r == '-')
		})
		for _, m := range ipv4Text.FindAllStringIndex(t, -1) {
			if !dottedNumberAt(t, m[0]-1, -1) && !dottedNumberAt(t, m[1], 1) {
				out = append(out, t[m[0]:m[1]])
			}
		}
		for _, w := range words {
			// A leading "::" is an IPv6 address's (::ffff:10.20.30.40).
			w = strings.TrimRight(strings.TrimLeft(w, ".-"), ".:-")
			if !strings.HasPrefix(w, "::") {
				w = strings.TrimLeft(w, ":")
			}
			if !strings.ContainsAny(w, ".:") {
				continue
			}
			out = append(out, w)
			if strings.Contains(w, "/") {
				out = append(out, pathTargets(w)...)
			}
		}
	}
	return out
}

// pathTargets are the segments of a URL path, unescaped, and each two
// adjacent ones joined (a network written address/bits).
func pathTargets(path string) []string {
	var segs []string
	for _, seg := range strings.Split(path, "/") {
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
		if seg = strings.TrimSpace(seg); seg != "" {
			segs = append(segs, seg)
		}
	}
	out := slices.Clone(segs)
	for i := 0; i+1 < len(segs); i++ {
		out = append(out, segs[i]+"/"+segs[i+1])
	}
	return out
}

// walkStrings calls f with each string of a param value, nested maps and
// lists included (a for_each step's params are {"items": [params of each
// item…]}), and the innermost map key that holds it, until f returns
// true. Map keys are visited in sorted order, so a reason given is stable.
func walkStrings(key string, v any, f func(key, s string) bool) bool {
	switch x := v.(type) {
	case string:
		return f(key, x)
	case []any:
		for _, e := range x {
			if walkStrings(key, e, f) {
				return true
			}
		}
	case []string:
		for _, e := range x {
			if f(key, e) {
				return true
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if walkStrings(k, x[k], f) {
				return true
			}
		}
	case []map[string]any:
		for _, e := range x {
			if walkStrings(key, e, f) {
				return true
			}
		}
	}
	return false
}

// protectedString checks one string param value, named by key.
func (p *Policy) protectedString(key, s string) (bool, string) {
	pr := &p.Protected
	lk := strings.ToLower(key)
	// instance_id names an EC2 host; access_key_id and role_name name the
	// IAM identity the step disables (a pattern may list the key or role).
	if strings.Contains(lk, "host") || strings.Contains(lk, "machine") || strings.Contains(lk, "device") || strings.Contains(lk, "instance") {
		for _, pat := range pr.Hosts {
			switch hostMatch(pat, s) {
			case matchWhole:
				return true, fmt.Sprintf("host %s matches protected pattern %q", s, pat)
			case matchShortName:
				return true, fmt.Sprintf("host %s matches the first DNS label of protected pattern %q (a name without a domain may resolve to a host the pattern names)", s, pat)
			case matchFirstLabel:
				return true, fmt.Sprintf("host %s's first DNS label matches protected pattern %q (a pattern without a domain names the host in any domain)", s, pat)
			}
		}
	}
	if strings.Contains(lk, "user") || strings.Contains(lk, "login") || strings.Contains(lk, "email") ||
		strings.Contains(lk, "access_key") || strings.Contains(lk, "role") {
		for _, pat := range pr.Users {
			switch userMatch(pat, s) {
			case matchWhole:
				return true, fmt.Sprintf("user %s matches protected pattern %q", s, pat)
			case matchShortName:
				return true, fmt.Sprintf("user %s matches the part before @ of protected pattern %q (a user given without a domain may resolve to that login: Okta takes a login's short name)", s, pat)
			case matchFirstLabel:
				return true, fmt.Sprintf("user %s's part before @ matches protected pattern %q (a pattern without a domain names the user in any domain)", s, pat)
			}
		}
	}
	if lo, hi, single, ok := addrSpan(s); ok {
		for _, pfx := range pr.prefixes {
			plo, phi := prefixSpan(pfx)
			if lo.Compare(phi) <= 0 && plo.Compare(hi) <= 0 {
				if single {
					return true, fmt.Sprintf("IP %s is in protected network %s", s, pfx)
				}
				return true, fmt.Sprintf("IP range %s overlaps protected network %s", s, pfx)
			}
		}
	}
	if lk == "tags" || lk == "tag" {
		for _, t := range pr.Tags {
			if tagMatches(t, s) {
				return true, fmt.Sprintf("asset tag %q is protected", s)
			}
		}
	}
	return false, ""
}

// addrSpan reads s as the actions take an IP (panos.block_ip): an address,
// a network (203.0.113.0/24) or a range (203.0.113.10-203.0.113.20). lo
// and hi are its first and last address as 16-byte addresses (IPv4 as
// IPv4-mapped IPv6, zones dropped), so that IPv4 and IPv6 compare in one
// space: a network or range of either family that covers a protected one
// overlaps it. single: s is one address.
func addrSpan(s string) (lo, hi netip.Addr, single, ok bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		a = as16(a)
		return a, a, true, true
	}
	if pfx, err := netip.ParsePrefix(s); err == nil {
		lo, hi = prefixSpan(pfx)
		return lo, hi, false, true
	}
	l, h, found := strings.Cut(s, "-")
	if !found {
		return
	}
	a, err1 := netip.ParseAddr(strings.TrimSpace(l))
	b, err2 := netip.ParseAddr(strings.TrimSpace(h))
	if err1 != nil || err2 != nil {
		return
	}
	lo, hi = as16(a), as16(b)
	if hi.Less(lo) { // a reversed range still names these addresses
		lo, hi = hi, lo
	}
	return lo, hi, false, true
}

// prefixSpan is the first and last address of pfx, as 16-byte addresses.
func prefixSpan(pfx netip.Prefix) (lo, hi netip.Addr) {
	bits := pfx.Bits()
	if pfx.Addr().Is4() {
		bits += 96
	}
	b := as16(pfx.Addr()).As16()
	for i := range b {
		switch n := bits - 8*i; {
		case n >= 8:
		case n <= 0:
			b[i] = 0
		default:
			b[i] &= byte(0xff << (8 - n))
		}
	}
	lo = netip.AddrFrom16(b)
	for i := range b {
		if n := bits - 8*i; n <= 0 {
			b[i] = 0xff
		} else if n < 8 {
			b[i] |= byte(0xff >> n)
		}
	}
	return lo, netip.AddrFrom16(b)
}

// as16 is a as a 16-byte address without zone (IPv4 as IPv4-mapped).
func as16(a netip.Addr) netip.Addr { return netip.AddrFrom16(a.As16()) }

// userMatch matches a user param against a protected pattern as hostMatch
// does hosts, with the part before "@" in the role of the first DNS label:
// Okta finds a user by the short name of its login (ceo for
// ceo@example.com), so a value without "@" matches a pattern whose part
// before "@" matches it ("*@board.example.com" protects every user given
// without a domain, short names and ids alike), and a pattern without "@"
// names the user in any domain.
func userMatch(pat, s string) int {
	if s == "" {
		return matchNone
	}
	return nameMatch(pat, s, "@")
}

// How a host or user value matches a protected pattern.
const (
	matchNone       = iota
	matchWhole      // the pattern matches the value
	matchShortName  // a value without a domain matches the pattern's first label
	matchFirstLabel // a pattern without a domain matches the value's first label
)

// hostMatch matches a host param against a protected pattern (a glob,
// case-insensitive; a trailing dot of a fully qualified name is ignored).
// The action may resolve a name without a domain (fin-ws-042) to a host
// in any domain (defender.isolate_machine finds fin-ws-042.corp.example.com),
// so such a value matches a pattern whose first DNS label matches it:
// "fin-ws-042.corp.example.com" and "*.prod.example.com" both match
// fin-ws-042. Likewise a pattern without a domain names the host in any
// domain: "fin-ws-042" matches fin-ws-042.corp.example.com. An IP address
// is not a name.
func hostMatch(pat, s string) int {
	pat, s = strings.TrimSuffix(pat, "."), strings.TrimSuffix(s, ".")
	if s == "" {
		return matchNone
	}
	if _, err := netip.ParseAddr(s); err == nil {
		if conditions.Glob(pat, s) {
			return matchWhole
		}
		return matchNone
	}
	return nameMatch(pat, s, ".")
}

// nameMatch matches a name against a pattern whole, or, where one of them
// has no qualifier (the part after sep: a domain), by its head (the part
// before sep) against the other.
func nameMatch(pat, s, sep string) int {
	if conditions.Glob(pat, s) {
		return matchWhole
	}
	patHead, _, patQualified := strings.Cut(pat, sep)
	sHead, _, sQualified := strings.Cut(s, sep)
	switch {
	case !sQualified && patQualified && conditions.Glob(patHead, s):
		return matchShortName
	case sQualified && !patQualified && conditions.Glob(pat, sHead):
		return matchFirstLabel
	}
	return matchNone
}

// devicesOf are the hosts the detection names with a name and an
// address: its device and endpoints (src_endpoint, dst_endpoint), and
// those of its evidences[]. An endpoint pairs a host name with its
// address as a device does: a CrowdStrike identity alert names the
// machine it is about (the host affected_host gives) as its src_endpoint
// only.
func devicesOf(det map[string]any) []Device {
	keys := []string{"device", "src_endpoint", "dst_endpoint"}
	var objs []any
	for _, k := range keys {
		objs = append(objs, det[k])
	}
	evs, _ := det["evidences"].([]any)
	for _, e := range evs {
		em, _ := e.(map[string]any)
		for _, k := range keys {
			objs = append(objs, em[k])
		}
	}
	var out []Device
	for _, o := range objs {
		dev, _ := o.(map[string]any)
		if names, ips := deviceFacts(dev); len(names) > 0 && len(ips) > 0 {
			out = append(out, Device{Names: names, IPs: ips})
		}
	}
	return out
}

// deviceFacts are a device object's hostname and name, and its addresses
// (ip and network_interfaces[].ip).
func deviceFacts(dev map[string]any) (names, ips []string) {
	for _, k := range []string{"hostname", "name"} {
		if s, _ := dev[k].(string); strings.TrimSpace(s) != "" {
			names = append(names, strings.TrimSpace(s))
		}
	}
	if s, _ := dev["ip"].(string); strings.TrimSpace(s) != "" {
		ips = append(ips, strings.TrimSpace(s))
	}
	// Every address the device had (OCSF device.network_interfaces[].ip;
	// a Graph deviceEvidence's ipInterfaces), not only the first.
	nics, _ := dev["network_interfaces"].([]any)
	for _, n := range nics {
		nm, _ := n.(map[string]any)
		if s, _ := nm["ip"].(string); strings.TrimSpace(s) != "" && !slices.Contains(ips, strings.TrimSpace(s)) {
			ips = append(ips, strings.TrimSpace(s))
		}
	}
	return names, ips
}

// hostValues are the strings of a param value held under a key that
// names a host (as protectedString reads keys), however nested.
func hostValues(v any) []string {
	var out []string
	walkStrings("", v, func(k, s string) bool {
		if lk := strings.ToLower(k); strings.Contains(lk, "host") || strings.Contains(lk, "machine") || strings.Contains(lk, "device") {
			out = append(out, strings.TrimSpace(s))
		}
		return false
	})
	return out
}

// sameHost reports whether two host names name the same host: equal
// without regard to case, or one is the other's first DNS label
// (fin-ws-042 and fin-ws-042.corp.example).
func sameHost(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	la, _, _ := strings.Cut(a, ".")
	lb, _, _ := strings.Cut(b, ".")
	return (la == a || lb == b) && strings.EqualFold(la, lb)
}
