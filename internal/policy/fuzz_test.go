package policy

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/riposte-dev/riposte/internal/yamlx"
)

// FuzzParse: policy.yaml is operator input read at every start and reload,
// so whatever it holds, ParseWith never panics and returns either a policy
// or diagnostics that each point inside the file; a policy it accepts
// answers every request with one of the three decisions.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	if b, err := os.ReadFile("../../deploy/config/policy.yaml"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"", "---\n", "safe_mode: true\n",
		"protected: {hosts: ['[a-'], users: ['*@'], cidrs: ['::/0', '10.0.0.1'], action: refuse}\n",
		"budgets: [{action: '*', max: 1, per: 1d}, {action: '*', max: 2, per: 0.5h}]\n",
		"confidence_floor: 1e3\nbudgets: [{action: x, max: 9223372036854775808, per: 99999999d}]\n",
		"protected: &p {hosts: [*p]}\n", "approvers: [U1, 2, ~]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := ParseWith("policy.yaml", src, Options{Actions: fuzzActions{}})
		if err != nil {
			var diags yamlx.Diagnostics
			if !errors.As(err, &diags) || len(diags) == 0 {
				t.Fatalf("error is not a list of diagnostics: %v", err)
			}
			// A line ends at LF, CRLF or a lone CR (classic Mac files), as
			// for YAML and editors, and as the diagnostics count them.
			lines := bytes.Count(src, []byte("\n")) + bytes.Count(src, []byte("\r")) - bytes.Count(src, []byte("\r\n")) + 1
			for _, d := range diags {
				if d.File != "policy.yaml" || d.Line < 1 || d.Line > lines || d.Col < 1 || d.Message == "" {
					t.Fatalf("bad diagnostic %+v for %d lines", d, lines)
				}
			}
			return
		}
		if p == nil {
			t.Fatal("no policy and no error")
		}
		for _, b := range p.Budgets {
			if b.Max < 1 || b.Per <= 0 {
				t.Fatalf("accepted budget %+v", b)
			}
		}
		for _, r := range fuzzRequests {
			for _, safe := range []bool{false, true} {
				switch d := p.Evaluate(r, safe); d.Decision {
				case Allow, Gate, Refuse:
				default:
					t.Fatalf("decision %q for %+v", d.Decision, r)
				}
			}
		}
	})
}

// FuzzEvaluate: a contain step's params come from the detection, written
// by a model or an attacker; matching them against the protected lists
// never panics, and a host the lists name is never allowed automatically
// whatever is around it.
func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{"dc-01", "DC-01.corp.example.com", "db.prod.example.com", "ceo@example.com", "CEO", "10.10.3.4", "::ffff:10.10.3.4", "10.10.0.0/24", "", " ", "*", "a@b@c", "[::1]:22", "\x00"} {
		f.Add(s)
	}
	p, err := Parse("policy.yaml", []byte(sample))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, key := range []string{"hostname", "user", "ip", "target", "device_id"} {
			params := map[string]any{key: s, "items": []any{map[string]any{key: s}}}
			d := p.Evaluate(Request{Action: "crowdstrike.contain_host", Params: params, Auto: true, Facts: &Facts{AssetTags: []string{s}}}, false)
			switch d.Decision {
			case Allow, Gate, Refuse:
			default:
				t.Fatalf("decision %q for %s=%q", d.Decision, key, s)
			}
		}
		// The protected host always gates, whatever else the step names.
		d := p.Evaluate(Request{Action: "crowdstrike.contain_host", Auto: true, Params: map[string]any{"hostname": "dc-01", "other": s}}, false)
		if d.Decision != Gate || d.Rule != "protected_asset" {
			t.Fatalf("dc-01 next to %q: %+v", s, d)
		}
	})
}

type fuzzActions struct{}

func (fuzzActions) Names() []string { return []string{"crowdstrike.contain_host", "okta.suspend_user"} }

func (fuzzActions) IsContain(name string) (known, contain bool) {
	return name == "crowdstrike.contain_host" || name == "okta.suspend_user", true
}

var fuzzConfidence = 50

var fuzzRequests = []Request{
	{Action: "crowdstrike.contain_host", Auto: true, Params: map[string]any{"hostname": "dc-01.corp"}},
	{Action: "okta.suspend_user", Auto: true, Params: map[string]any{"user": "ceo@example.com"}, Facts: &Facts{Confidence: &fuzzConfidence}},
	{Action: "crowdstrike.contain_host", Params: map[string]any{"items": []any{map[string]any{"ip": "10.10.1.1"}}}},
	{Action: "x", Auto: true, Detection: map[string]any{"confidence": 99}},
}
