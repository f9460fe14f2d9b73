package policy

import "testing"

// TestProtectedAddressInHTTPRequestTextBody: a string body of http.request
// was read as JSON, else as a form only when it had no whitespace and
// parsed without error. A playbook's form body carries text it
// interpolates (the finding's title: "ip=${{ vars.ip }}&comment=${{
// finding.title }}"), which has spaces, and often a "%" ("Beacon, 50%
// jitter"); an API that takes a plain list of addresses (an external
// dynamic list, one per line, or comma separated) gets no key at all.
// Each was sent with the protected address unread: blocked automatically.
func TestProtectedAddressInHTTPRequestTextBody(t *testing.T) {
	p, err := Parse("policy.yaml", []byte("protected:\n  cidrs: [\"10.20.0.0/16\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	form := map[string]any{"Content-Type": "application/x-www-form-urlencoded"}
	text := map[string]any{"Content-Type": "text/plain"}
	for name, params := range map[string]map[string]any{
		"form body with a title":        {"connection": "fw", "method": "POST", "path": "/block", "headers": form, "body": "ip=10.20.30.40&comment=C2 beacon to evil.example"},
		"form body with a percent":      {"connection": "fw", "method": "POST", "path": "/block", "headers": form, "body": "comment=Beacon,50%-jitter&ip=10.20.30.40"},
		"address list, one a line":      {"connection": "edl", "method": "PUT", "path": "/lists/c2", "headers": text, "body": "203.0.113.9\n10.20.30.40\n198.51.100.7"},
		"address list, comma separated": {"connection": "fw", "method": "POST", "path": "/block", "headers": map[string]any{"Content-Type": "application/json"}, "body": `{"addresses": "203.0.113.9,10.20.30.40"}`},
	} {
		d := p.Evaluate(Request{Action: "http.request", Params: params, Auto: true}, false)
		if d.Decision != Gate || d.Rule != "protected_asset" {
			t.Errorf("%s (%q): %s %s %s; want the protected_asset gate", name, params["body"], d.Decision, d.Rule, d.Why)
		}
	}
}
