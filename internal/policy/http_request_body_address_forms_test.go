package policy

import "testing"

// TestProtectedAddressInHTTPRequestBodyWrittenWithAPrefixOrPort: the
// text-body scan (ea5cb0d) promises that every address or network written
// anywhere in an http.request body is checked against cidrs, but it cut
// the body into words of hex digits, '.', ':', '/' and '-' and read each
// word whole. An address written after a word ending in a hex letter and a
// colon ("src:10.20.30.40" read as "c:10.20.30.40", "source:", "added:"),
// with a port ("10.20.30.40:3389", "[fd00::1]:443" is fine, IPv4 is not),
// or in the IPv4-mapped form Windows logs use ("::ffff:10.20.30.40", whose
// leading colons the scan trimmed) was no address: the protected host was
// blocked automatically.
func TestProtectedAddressInHTTPRequestBodyWrittenWithAPrefixOrPort(t *testing.T) {
	p, err := Parse("policy.yaml", []byte("protected:\n  cidrs: [\"10.20.0.0/16\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	text := map[string]any{"Content-Type": "text/plain"}
	for _, body := range []string{
		"block src:10.20.30.40",
		"block source:10.20.30.40",
		`{"query": "dst:203.0.113.9 OR src:10.20.30.40"}`,
		"203.0.113.9:443\n10.20.30.40:3389",
		`{"addresses": "203.0.113.9,::ffff:10.20.30.40"}`,
		"added:10.20.30.0/24",
		"range fade-10.20.30.1-10.20.30.9",
	} {
		params := map[string]any{"connection": "fw", "method": "POST", "path": "/block", "headers": text, "body": body}
		d := p.Evaluate(Request{Action: "http.request", Params: params, Auto: true}, false)
		if d.Decision != Gate || d.Rule != "protected_asset" {
			t.Errorf("body %q: %s %s %s; want the protected_asset gate", body, d.Decision, d.Rule, d.Why)
		}
	}
	// Words that are no address stay ungated: a build id, a date, a time.
	for _, body := range []string{
		"build 2026.12.06 at 10:20:30, agent 7.1.2.3 abc:def",
		"cafe:1.2.3.4 deadbeef-10.2.3",
	} {
		params := map[string]any{"connection": "fw", "method": "POST", "path": "/block", "headers": text, "body": body}
		if d := p.Evaluate(Request{Action: "http.request", Params: params, Auto: true}, false); d.Rule == "protected_asset" {
			t.Errorf("body %q: gated (%s); want no protected_asset gate", body, d.Why)
		}
	}
}
