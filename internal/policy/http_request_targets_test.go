package policy

import "testing"

// http.request is a contain action that "may change anything": an EDR or
// firewall API called through it names its target where that API wants
// it, in the path (POST /api/v1/blocklist/10.20.30.40, PUT
// /ip-lists/10.20.0.0/16) or in a JSON body the playbook writes as a
// string ("a string is sent as is", with the Content-Type it sets). The
// guardrails read only param values that are, whole, an IP or a host or
// user under a matching key: a protected address or host in the path or
// in a string body was blocked or isolated automatically.
func TestProtectedTargetsOfHTTPRequest(t *testing.T) {
	p, err := Parse("policy.yaml", []byte("protected:\n  hosts: [\"dc-*\"]\n  users: [ceo@example.com]\n  cidrs: [\"10.20.0.0/16\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	json := map[string]any{"Content-Type": "application/json"}
	for name, params := range map[string]map[string]any{
		"address in the path":         {"connection": "fw", "method": "POST", "path": "/api/v1/blocklist/10.20.30.40"},
		"escaped address in the path": {"connection": "fw", "method": "POST", "path": "/api/v1/blocklist/10%2E20.30.40"},
		"network in the path":         {"connection": "fw", "method": "PUT", "path": "/ip-lists/10.0.0.0/8"},
		"address in a JSON body":      {"connection": "fw", "method": "POST", "path": "/block", "headers": json, "body": `{"ip": "10.20.30.40"}`},
		"host in a JSON body":         {"connection": "edr", "method": "POST", "path": "/isolate", "headers": json, "body": `{"targets": [{"hostname": "DC-01"}]}`},
		"user in a JSON body":         {"connection": "idp", "method": "POST", "path": "/suspend", "headers": json, "body": "[{\"user\": \"ceo@example.com\"}]"},
		"address in a form body":      {"connection": "fw", "method": "POST", "path": "/block", "headers": map[string]any{"Content-Type": "application/x-www-form-urlencoded"}, "body": "action=block&ip=10.20.30.40"},
	} {
		d := p.Evaluate(Request{Action: "http.request", Params: params, Auto: true}, false)
		if d.Decision != Gate || d.Rule != "protected_asset" {
			t.Errorf("%s (%v): %+v; want the protected_asset gate", name, params, d)
		}
	}
	// Other requests stay automatic: a path of words, a body naming none.
	for name, params := range map[string]map[string]any{
		"path of words":   {"connection": "fw", "method": "POST", "path": "/api/v1/hosts/web-07/isolate"},
		"unrelated body":  {"connection": "fw", "method": "POST", "path": "/block", "headers": json, "body": `{"ip": "203.0.113.9", "hostname": "web-07"}`},
		"plain text body": {"connection": "fw", "method": "POST", "path": "/note", "body": "blocked 203.0.113.9 {per runbook}"},
	} {
		if d := p.Evaluate(Request{Action: "http.request", Params: params, Auto: true}, false); d.Decision != Allow {
			t.Errorf("%s (%v): %+v; want allowed", name, params, d)
		}
	}
}
