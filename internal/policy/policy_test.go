package policy

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/yamlx"
)

const sample = `
protected:
  hosts: ["*.prod.example.com", "dc-*"]
  users: ["ceo@example.com"]
  cidrs: ["10.10.0.0/16"]
  tags: ["crown-jewel"]
confidence_floor: 80
budgets:
  - {action: crowdstrike.contain_host, max: 5, per: 1h}
  - {action: "*", max: 50, per: 1d}
`

func TestEvaluate(t *testing.T) {
	p, err := Parse("policy.yaml", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	det := map[string]any{"confidence_score": 92}
	for _, tc := range []struct {
		name     string
		req      Request
		safe     bool
		decision string
		rule     string
	}{
		{"protected host gates even when auto", Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "web.PROD.example.com"}, Detection: det, Auto: true}, false, Gate, "protected_asset"},
		{"short name may resolve into a protected domain", Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "web"}, Detection: det, Auto: true}, false, Gate, "protected_asset"},
		{"protected host gated when already gated too", Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "dc-01"}, Detection: det}, false, Gate, "protected_asset"},
		{"protected user", Request{Action: "okta.suspend_user", Params: map[string]any{"user": "CEO@example.com"}, Detection: det, Auto: true}, false, Gate, "protected_asset"},
		{"protected cidr", Request{Action: "panos.block_ip", Params: map[string]any{"ip": "10.10.3.4"}, Detection: det, Auto: true}, false, Gate, "protected_asset"},
		{"protected tag on device", Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "fin-ws-042"}, Detection: map[string]any{"confidence_score": 99, "device": map[string]any{"groups": []any{map[string]any{"name": "Crown-Jewel"}}}}, Auto: true}, false, Gate, "protected_asset"},
		{"protected tag in device labels", Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "fin-ws-042"}, Detection: map[string]any{"confidence_score": 99, "device": map[string]any{"labels": []any{"finance", " crown-jewel "}}}, Auto: true}, false, Gate, "protected_asset"},
		{"safe mode", Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "fin-ws-042.corp.example.com"}, Detection: det, Auto: true}, true, Gate, "safe_mode"},
		{"below confidence floor", Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "fin-ws-042.corp.example.com"}, Detection: map[string]any{"confidence_score": 79}, Auto: true}, false, Gate, "confidence_floor"},
		{"no confidence", Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "fin-ws-042.corp.example.com"}, Detection: map[string]any{}, Auto: true}, false, Gate, "confidence_floor"},
		{"allowed with budget", Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "fin-ws-042.corp.example.com"}, Detection: det, Auto: true}, false, Allow, ""},
		{"human-gated steps skip floor and safe mode", Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "fin-ws-042.corp.example.com"}, Detection: map[string]any{"confidence_score": 10}}, true, Allow, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Evaluate(tc.req, tc.safe)
			if d.Decision != tc.decision || d.Rule != tc.rule {
				t.Errorf("got %+v, want %s/%s", d, tc.decision, tc.rule)
			}
			if d.Decision != Allow && d.Why == "" {
				t.Error("a guardrail decision must say why")
			}
		})
	}
	d := p.Evaluate(Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "x.corp.example.com"}, Detection: det, Auto: true}, false)
	if d.Budget == nil || d.Budget.Max != 5 || d.Budget.Per != time.Hour {
		t.Errorf("specific budget = %+v", d.Budget)
	}
	d = p.Evaluate(Request{Action: "okta.suspend_user", Params: map[string]any{"user": "x"}, Detection: det, Auto: true}, false)
	if d.Budget == nil || d.Budget.Action != "*" {
		t.Errorf("wildcard budget = %+v", d.Budget)
	}
}

// TestProtectedParamNames: which params are checked against which list is
// decided by the param's name, as README's guardrails section says: a name
// holding host, machine or device against hosts; user, login or email
// against users; tag or tags against tags; any param against the CIDRs.
// The same value under a name of another kind is not that kind of asset.
func TestProtectedParamNames(t *testing.T) {
	p, err := Parse("policy.yaml", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key, value string
		protected  bool
	}{
		{"hostname", "dc-01", true},
		{"machine_name", "dc-01", true},
		{"device", "dc-01", true},
		{"target_device_name", "DC-01", true},
		{"user", "dc-01", false},
		{"login", "ceo@example.com", true},
		{"email", "CEO@example.com", true},
		{"user_principal_name", "ceo@example.com", true},
		{"hostname", "ceo@example.com", false},
		{"tag", "crown-jewel", true},
		{"tags", "Crown-Jewel", true},
		{"label", "crown-jewel", false},
		{"ip", "10.10.3.4", true},
		{"anything", "10.10.3.4", true},
		{"comment", "dc-01", false},
		// AWS: instance_id is a host; access_key_id and role_name name
		// the IAM identity (patterns may list the key or the role).
		{"instance_id", "dc-7", true},
		{"access_key_id", "ceo@example.com", true},
		{"role_name", "ceo@example.com", true},
	} {
		d := p.Evaluate(Request{Action: "crowdstrike.contain_host", Params: map[string]any{tc.key: tc.value}, Auto: true, Facts: &Facts{}}, false)
		if got := d.Rule == "protected_asset"; got != tc.protected {
			t.Errorf("%s: %q: protected = %v (%+v), want %v", tc.key, tc.value, got, d, tc.protected)
		}
	}
}

// TestConfidenceFloorReadsTheView: the floor reads finding.confidence, the
// value playbooks see (internal/finding): the view sent with the request
// when there is one (after its JSON round trip through the workflow), else
// the view of the detection. A score intake refuses (91.5) is no
// confidence, never a truncated 91.
func TestConfidenceFloorReadsTheView(t *testing.T) {
	p := mustParse(t, "confidence_floor: 91\n")
	for _, tc := range []struct {
		name      string
		detection map[string]any
		view      map[string]any
		decision  string
		why       string
	}{
		{"integer score at the floor", map[string]any{"confidence_score": 91}, nil, Allow, ""},
		{"score as float from JSON", map[string]any{"confidence_score": 91.0}, nil, Allow, ""},
		{"fractional score is no confidence", map[string]any{"confidence_score": 91.5}, nil, Gate, "confidence none "},
		{"fractional score, confidence_id mapped", map[string]any{"confidence_score": 91.5, "confidence_id": 3}, nil, Gate, "confidence 85 "},
		{"OCSF 1.0 integer confidence", map[string]any{"confidence": 95}, nil, Allow, ""},
		{"below the floor", map[string]any{"confidence_score": 90}, nil, Gate, "confidence 90 "},
		{"the view wins (raised by a later record)", map[string]any{"confidence_score": 60}, map[string]any{"confidence": 95.0}, Allow, ""},
		{"the view wins (lowered)", map[string]any{"confidence_score": 99}, map[string]any{"confidence": 50.0}, Gate, "confidence 50 "},
		{"unknown in the view", map[string]any{"confidence_score": 99}, map[string]any{"confidence": nil}, Gate, "confidence none "},
		{"fractional in the view", nil, map[string]any{"confidence": 91.5}, Gate, "confidence none "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Evaluate(Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "ws-1"}, Detection: tc.detection, Finding: tc.view, Auto: true}, false)
			if d.Decision != tc.decision || !strings.Contains(d.Why, tc.why) {
				t.Errorf("got %+v, want %s with %q", d, tc.decision, tc.why)
			}
		})
	}
}

func TestRefuse(t *testing.T) {
	p, err := Parse("p.yaml", []byte("protected: {hosts: [db-*], action: refuse}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := p.Evaluate(Request{Params: map[string]any{"hostname": "db-prod-02"}}, false)
	if d.Decision != Refuse || !strings.Contains(d.Why, "db-prod-02") {
		t.Errorf("got %+v", d)
	}
}

// TestParseErrors: every problem of policy.yaml is reported at once, each
// at its file:line:col.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"protected: {action: block}\n", `policy.yaml:1:21: protected.action must be gate or refuse, got "block"`},
		{"protected: {cidrs: [10.0.0.0/33]}\n", `policy.yaml:1:21: protected.cidrs[0]: "10.0.0.0/33" is not a CIDR`},
		{"confidence_floor: 101\n", "policy.yaml:1:19: confidence_floor must be between 0 and 100, got 101"},
		{"confidence_floor: high\n", "policy.yaml:1:19: confidence_floor must be an integer, got a string"},
		{"budgets: [{action: x, max: 0, per: 1h}]\n", "policy.yaml:1:28: budgets[0].max must be at least 1, got 0"},
		{"budgets: [{max: 1, per: soon}]\n", `policy.yaml:1:11: budgets[0].action is required (a contain action of the catalog, or "*" for every contain action without a budget of its own)`},
		{"budgets: [{action: x, max: 1, per: soon}]\n", `policy.yaml:1:36: budgets[0].per: invalid duration "soon" (e.g. 30m, 1h, 1d)`},
		{"budgets:\n  - action: x\n    max: 1\n", "policy.yaml:2:5: budgets[0].per: is required (e.g. 1h)"},
		{"safe_mod: true\n", `policy.yaml:1:1: policy: unknown key "safe_mod" (did you mean "safe_mode"?)`},
		{"safe_mode: yes please\n", "policy.yaml:1:12: safe_mode must be true or false, got a string"},
		{"protected:\n  hosts: [dc-*]\n  hosts: [db-*]\n", `policy.yaml:3:3: protected: duplicate key "hosts" (first on line 2)`},
		{"- a\n", "policy.yaml:1:1: policy must be a mapping, got a list"},
		{"protected: {hosts: [a}\n", "policy.yaml:1:1: YAML syntax: did not find expected ',' or ']'"},
		{"safe_mode: true\n---\nb: 2\n", "policy.yaml:2:1: policy.yaml holds one YAML document; found a second"},
		// All problems at once, in source order.
		{"confidence_floor: 101\nbudgets: [{action: x, max: 0, per: 1h}]\n",
			"policy.yaml:1:19: confidence_floor must be between 0 and 100, got 101\npolicy.yaml:2:28: budgets[0].max must be at least 1, got 0"},
	} {
		_, err := Parse("policy.yaml", []byte(tc.src))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: got\n%v\nwant\n%s", tc.src, err, tc.want)
		}
	}
	for _, src := range []string{"", "\n# only a comment\n", "~\n", "protected:\nbudgets:\n"} {
		if p, err := Parse("empty", []byte(src)); err != nil || p == nil {
			t.Errorf("empty policy %q: %v", src, err)
		}
	}
}

// TestBillionLaughs: nested aliases are refused with a positioned error
// before anything expands them.
func TestBillionLaughs(t *testing.T) {
	_, err := Parse("policy.yaml", []byte(yamlx.BillionLaughs("approvers", 0)))
	if err == nil || !strings.Contains(err.Error(), "aliases expand the document to more than") || !strings.HasPrefix(err.Error(), "policy.yaml:") {
		t.Fatalf("got %v", err)
	}
}

// TestFactsDecideAsTheDetection: a check that carries only the facts
// (NewFacts: the finding's confidence, the asset's tags) decides as one
// that carries the whole detection and finding, for every rule that reads
// them.
func TestFactsDecideAsTheDetection(t *testing.T) {
	p := mustParse(t, sample)
	for _, tc := range []struct {
		name      string
		detection map[string]any
		view      map[string]any
		want      string
	}{
		{"confident", map[string]any{"confidence_score": 92}, nil, ""},
		{"below the floor", map[string]any{"confidence_score": 79}, nil, "confidence_floor"},
		{"no confidence", map[string]any{}, nil, "confidence_floor"},
		{"fractional score", map[string]any{"confidence_score": 91.5}, nil, "confidence_floor"},
		{"the view raised it", map[string]any{"confidence_score": 60}, map[string]any{"confidence": 95.0}, ""},
		{"unknown in the view", map[string]any{"confidence_score": 99}, map[string]any{"confidence": nil}, "confidence_floor"},
		{"protected group", map[string]any{"confidence_score": 99, "device": map[string]any{"groups": []any{map[string]any{"name": "Crown-Jewel"}}}}, nil, "protected_asset"},
		{"protected label", map[string]any{"confidence_score": 99, "device": map[string]any{"labels": " crown-jewel "}}, nil, "protected_asset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "ws-1.corp.example.com"}, Detection: tc.detection, Finding: tc.view, Auto: true}
			view := tc.view
			if view == nil {
				view = finding.Build(tc.detection, finding.DefaultConfig())
			}
			facts := Request{Action: full.Action, Params: full.Params, Auto: true, Facts: NewFacts(tc.detection, view)}
			want, got := p.Evaluate(full, false), p.Evaluate(facts, false)
			if want.Rule != tc.want {
				t.Fatalf("with the detection: %+v, want rule %q", want, tc.want)
			}
			if got.Decision != want.Decision || got.Rule != want.Rule || got.Why != want.Why {
				t.Errorf("with the facts %+v: %+v, with the detection: %+v", facts.Facts, got, want)
			}
		})
	}
}

func mustParse(t *testing.T, src string) *Policy {
	t.Helper()
	p, err := Parse("policy.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeActions is a catalog of three actions, one of them a contain action.
type fakeActions map[string]bool

func (f fakeActions) Names() []string { return slices.Sorted(maps.Keys(f)) }
func (f fakeActions) IsContain(name string) (bool, bool) {
	c, ok := f[name]
	return ok, c
}

// A budget must name a contain action of the catalog (or "*"): a typo
// would never match a step and leave automatic containment unlimited. A
// second budget for one action is refused with both positions (only the
// first would count). Every problem comes at once, with the others.
func TestBudgetActionsChecked(t *testing.T) {
	actions := fakeActions{"crowdstrike.contain_host": true, "crowdstrike.lift_containment": true, "okta.get_user": false}
	src := `budgets:
  - {action: crowdstrike.contain_hots, max: 5, per: 1h}
  - {action: okta.get_user, max: 5, per: 1h}
  - {action: crowdstrike.contain_host, max: 5, per: 1h}
  - {action: crowdstrike.contain_host, max: 1, per: 1d}
  - {action: "*", max: 0, per: 1h}
`
	_, err := ParseWith("policy.yaml", []byte(src), Options{Actions: actions})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`policy.yaml:2:14: budgets[0].action: unknown action "crowdstrike.contain_hots" (did you mean "crowdstrike.contain_host"?); a budget names a contain action of the catalog (riposte actions) or "*"`,
		`policy.yaml:3:14: budgets[1].action: okta.get_user is not a contain action; a budget counts contain actions (or "*" for every contain action without a budget of its own)`,
		`policy.yaml:5:14: budgets[3].action: a second budget for "crowdstrike.contain_host" (the first is at policy.yaml:4:14); give each action one budget`,
		`policy.yaml:6:24: budgets[4].max must be at least 1, got 0`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
	if n := len(err.(yamlx.Diagnostics)); n != 4 {
		t.Errorf("%d problems, want 4:\n%v", n, err)
	}
	// Without the catalog only the duplicate is found; with it, a file
	// naming contain actions and "*" once each is fine.
	if _, err := Parse("policy.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), "a second budget") {
		t.Errorf("Parse: %v", err)
	}
	if _, err := ParseWith("policy.yaml", []byte(sample), Options{Actions: actions}); err != nil {
		t.Errorf("sample: %v", err)
	}
}

// TestProtectedInNestedParams: a for_each step is checked once with
// {"items": [params of each item…]}; every value is checked under the
// innermost map key that holds it, however deep, so one protected item
// gates the whole step.
func TestProtectedInNestedParams(t *testing.T) {
	p := mustParse(t, `protected:
  hosts: ["dc-*"]
  users: ["ceo@example.com"]
  cidrs: ["10.10.0.0/16"]
  tags: ["crown-jewel"]
`)
	item := func(kv ...string) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		params map[string]any
		why    string // "" = not protected
	}{
		{"for_each host", map[string]any{"items": []any{item("hostname", "fin-ws-042"), item("hostname", "dc-01"), item("hostname", "fin-ws-043")}}, "host dc-01"},
		{"for_each user", map[string]any{"items": []any{item("user", "jdoe@example.com"), item("user", "CEO@example.com")}}, "user CEO@example.com"},
		{"for_each ip", map[string]any{"items": []any{item("ip", "203.0.113.9"), item("ip", "10.10.3.4")}}, "IP 10.10.3.4"},
		{"for_each tags list", map[string]any{"items": []any{map[string]any{"hostname": "ws-1", "tags": []any{"finance", "Crown-Jewel"}}}}, `asset tag "Crown-Jewel"`},
		{"map inside a param", map[string]any{"target": map[string]any{"device": map[string]any{"hostname": "dc-02"}}}, "host dc-02"},
		{"list of lists", map[string]any{"hosts": []any{[]any{"ws-1", "dc-03"}}}, "host dc-03"},
		{"innermost key names the value", map[string]any{"hostname": map[string]any{"comment": "dc-01"}}, ""},
		{"no protected item", map[string]any{"items": []any{item("hostname", "fin-ws-042"), item("hostname", "fin-ws-043")}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Evaluate(Request{Action: "crowdstrike.contain_host", Params: tc.params, Auto: true, Facts: &Facts{}}, false)
			if tc.why == "" {
				if d.Decision != Allow {
					t.Errorf("got %+v, want allow", d)
				}
				return
			}
			if d.Decision != Gate || d.Rule != "protected_asset" || !strings.Contains(d.Why, tc.why) {
				t.Errorf("got %+v, want a protected_asset gate naming %s", d, tc.why)
			}
		})
	}
}

// TestProtectedNetworks: an IP param may be an address, a network or a
// range (panos.block_ip takes all three); it is protected when any address
// it names is in a protected network, IPv4-mapped IPv6 included.
func TestProtectedNetworks(t *testing.T) {
	p := mustParse(t, `protected: {cidrs: ["10.10.0.0/16", "2001:db8:1::/48", "fe80::/10"]}`+"\n")
	for _, tc := range []struct {
		ip, why string // why "" = not protected
	}{
		{"10.10.3.4", "IP 10.10.3.4 is in protected network 10.10.0.0/16"},
		{"10.10.3.0/24", "IP range 10.10.3.0/24 overlaps protected network 10.10.0.0/16"},
		{"10.10.3.7/24", "IP range 10.10.3.7/24 overlaps"}, // host bits set: still the /24
		{"10.0.0.0/8", "IP range 10.0.0.0/8 overlaps protected network 10.10.0.0/16"},
		{"0.0.0.0/0", "overlaps protected network 10.10.0.0/16"},
		{"10.10.3.1-10.10.3.9", "IP range 10.10.3.1-10.10.3.9 overlaps"},
		{"10.10.3.1 - 10.10.3.9", "overlaps protected network 10.10.0.0/16"},
		{"10.10.3.9-10.10.3.1", "overlaps protected network 10.10.0.0/16"}, // reversed
		{"10.9.255.250-10.10.0.1", "overlaps protected network 10.10.0.0/16"},
		{"10.0.0.1-10.200.0.0", "overlaps protected network 10.10.0.0/16"},
		{"::ffff:10.10.3.4", "is in protected network 10.10.0.0/16"},
		{"::ffff:10.10.0.0/112", "overlaps protected network 10.10.0.0/16"},
		{"::/0", "overlaps protected network 10.10.0.0/16"},
		{"2001:db8::/32", "overlaps protected network 2001:db8:1::/48"},
		{"2001:db8:1::5", "is in protected network 2001:db8:1::/48"},
		{"2001:db8:0:ffff::-2001:db8:1::1", "overlaps protected network 2001:db8:1::/48"},
		{"fe80::1%eth0", "is in protected network fe80::/10"},
		{"10.11.0.0/16", ""},
		{"10.9.0.0-10.9.255.255", ""},
		{"10.10.255.255-10.11.0.0", "overlaps"}, // its first address is protected
		{"10.11.0.0-10.11.0.9", ""},
		{"203.0.113.0/24", ""},
		{"2001:db8:2::/48", ""},
		{"::ffff:10.11.0.0/112", ""},
		{"fin-ws-042", ""},
		{"10.10.3.4/33", ""},
		{"10.10.3.4-", ""},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			d := p.Evaluate(Request{Action: "panos.block_ip", Params: map[string]any{"ip": tc.ip}, Auto: true, Facts: &Facts{}}, false)
			if tc.why == "" {
				if d.Decision != Allow {
					t.Errorf("got %+v, want allow", d)
				}
				return
			}
			if d.Decision != Gate || d.Rule != "protected_asset" || !strings.Contains(d.Why, tc.why) {
				t.Errorf("got %+v, want a protected_asset gate saying %q", d, tc.why)
			}
		})
	}
}

// TestProtectedHostShortNames: an action may resolve a host name without a
// domain to a host in any domain (defender.isolate_machine turns
// fin-ws-042 into fin-ws-042.corp.example.com), so a short name is
// protected when a pattern's first DNS label matches it; and a pattern
// without a domain names the host in any domain.
func TestProtectedHostShortNames(t *testing.T) {
	for _, tc := range []struct {
		pattern, host, why string // why "" = not protected
	}{
		{"fin-ws-042.corp.example.com", "fin-ws-042", "first DNS label of protected pattern"},
		{"fin-ws-042.corp.example.com", "FIN-WS-042", "first DNS label"},
		{"fin-ws-042.corp.example.com", "fin-ws-042.corp.example.com.", "matches protected pattern"},
		{"*.prod.example.com", "web01", "first DNS label"},
		{"db-*.prod.example.com", "db-7", "first DNS label"},
		{"fin-ws-042", "fin-ws-042.corp.example.com", "first DNS label matches protected pattern"},
		{"*-prod-*", "web-prod-1.example.com", "matches protected pattern"}, // * spans dots
		{"dc-01", "DC-01.corp.example.com", "first DNS label matches"},
		{"srv-*", "ſrv-01", "matches protected pattern"},              // long s: the connectors' EqualFold takes it for s
		{"kdc-01.corp.example.com", "\u212adc-01", "first DNS label"}, // Kelvin sign for K
		{"fin-ws-042.corp.example.com", "fin-ws-043", ""},
		{"fin-ws-042.corp.example.com", "fin-ws-042.dmz.example.com", ""}, // both qualified: whole names
		{"*.prod.example.com", "web01.corp.example.com", ""},
		{"db-*.prod.example.com", "web01", ""},
		{"fin-ws-042", "fin-ws-0421.corp.example.com", ""},
		{"*.prod.example.com", "2001:db8::1", ""}, // an address is not a name
	} {
		t.Run(tc.pattern+" "+tc.host, func(t *testing.T) {
			p := mustParse(t, "protected: {hosts: [\""+tc.pattern+"\"]}\n")
			wantProtected(t, p.Evaluate(Request{Action: "defender.isolate_machine", Params: map[string]any{"hostname": tc.host}, Auto: true, Facts: &Facts{}}, false), tc.why)
		})
	}
}

// TestProtectedUserShortNames: a user given the way the connectors accept
// it without a domain (Okta: a login's short name) is the protected user.
func TestProtectedUserShortNames(t *testing.T) {
	for _, tc := range []struct {
		pattern, user, why string // why "" = not protected
	}{
		{"ceo@example.com", "ceo@example.com", "matches protected pattern"},
		{"ceo@example.com", "CEO@Example.com", "matches protected pattern"},
		{"ceo@example.com", "ceo", "part before @ of protected pattern"},
		{"ceo@example.com", "CEO", "part before @ of protected pattern"},
		{"*@board.example.com", "chair", "part before @"},            // short names and ids alike
		{"*@board.example.com", "00u1abcdEFGH5678", "part before @"}, // an Okta user id
		{"ceo", "ceo@subsidiary.example", "part before @ matches protected pattern"},
		{"svc-*", "svc-backup@example.com", "matches protected pattern"}, // * spans the @
		{"ceo@example.com", "ceo2", ""},
		{"ceo@example.com", "ceo@subsidiary.example", ""}, // both with a domain: whole logins
		{"ceo@example.com", "cfo", ""},
		{"*@board.example.com", "chair@example.com", ""},
	} {
		t.Run(tc.pattern+" "+tc.user, func(t *testing.T) {
			p := mustParse(t, "protected: {users: [\""+tc.pattern+"\"]}\n")
			wantProtected(t, p.Evaluate(Request{Action: "okta.suspend_user", Params: map[string]any{"user": tc.user}, Auto: true, Facts: &Facts{}}, false), tc.why)
		})
	}
}

// wantProtected checks a decision: a protected_asset gate whose reason
// says why, or (why "") an allow.
func wantProtected(t *testing.T, d Decision, why string) {
	t.Helper()
	if why == "" {
		if d.Decision != Allow {
			t.Errorf("got %+v, want allow", d)
		}
		return
	}
	if d.Rule != "protected_asset" || !strings.Contains(d.Why, why) {
		t.Errorf("got %+v, want a protected_asset gate saying %q", d, why)
	}
}

// A budget's window in days is a count of days: one past what a
// time.Duration holds (about 292 years) wrapped to a negative window, in
// which every reservation has already expired, so the budget never filled
// and automatic containment was unlimited, with no error. "per: 999999d"
// (meant as "ever") is refused with its position instead.
func TestBudgetWindowTooLongIsAnError(t *testing.T) {
	for _, per := range []string{"999999d", "106752d", "9223372036854775807d"} {
		src := "budgets:\n  - {action: \"*\", max: 3, per: " + per + "}\n"
		p, err := Parse("policy.yaml", []byte(src))
		if err == nil {
			t.Errorf("per: %s: no error; budget window %v (a window that is not positive counts nothing: unlimited containment)", per, p.Budgets[0].Per)
			continue
		}
		if want := "policy.yaml:2:32: budgets[0].per: "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "106751d") {
			t.Errorf("per: %s: %v; want %q naming the longest window (106751d)", per, err, want)
		}
	}
	// The longest window a duration holds is still a window.
	p, err := Parse("policy.yaml", []byte("budgets:\n  - {action: \"*\", max: 3, per: 106751d}\n"))
	if err != nil || p.Budgets[0].Per != 106751*24*time.Hour {
		t.Errorf("per: 106751d: %v, %v", p, err)
	}
}
