package policy

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/intake/convert"
)

// A CrowdStrike Identity Protection alert names no device: the machine it
// is about is its source endpoint (source_endpoint_host_name and
// source_endpoint_ip_address → src_endpoint {hostname, ip}), and that is
// the host affected_host gives playbooks to contain
// (contain-credential-theft passes it to crowdstrike.contain_host). The
// protected cidrs judged a host by name only with the addresses of
// device and evidences[].device, so the alert's own address for that very
// host was never looked at: a machine on a protected network was
// contained automatically.
func TestProtectedCIDRCoversTheAffectedEndpointsAddress(t *testing.T) {
	raw := realSample(t, "crowdstrike-alert-idp.json")
	raw["source_endpoint_ip_address"] = "10.20.30.40"
	raw["source_endpoint_address_ip4"] = "10.20.30.40"
	det, _, err := convert.One(0, raw, convert.FormatCrowdStrike)
	if err != nil {
		t.Fatal(err)
	}
	host := finding.AffectedHost(finding.Build(det, finding.DefaultConfig()))
	if host != "ABDC454.net.example.com" {
		t.Fatalf("affected host %q; want the source endpoint ABDC454.net.example.com", host)
	}
	p, err := Parse("policy.yaml", []byte("protected:\n  cidrs: [\"10.20.0.0/16\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{host, "abdc454"} {
		for _, req := range []Request{
			{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": h}, Auto: true, Facts: NewFacts(det, nil)},
			{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": h}, Auto: true, Detection: det},
		} {
			d := p.Evaluate(req, false)
			if d.Decision != Gate || d.Rule != "protected_asset" || !strings.Contains(d.Why, "10.20.30.40") {
				t.Errorf("contain %s (src_endpoint %s, ip 10.20.30.40; protected 10.20.0.0/16; facts %v): %+v; want gated as protected", h, host, req.Facts != nil, d)
			}
		}
	}
}
