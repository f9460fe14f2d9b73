package policy

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/intake/convert"
)

// ECS host.ip is an array: "Host ip addresses" (every address of the
// machine, in no particular order; Elastic Defend and Beats list each
// interface's, loopback and link-local included). The Elastic converter
// kept the first routable one alone as device.ip, so a host whose
// address in a protected network was not listed first (a Docker bridge,
// a VPN or a second NIC before it) was contained automatically though
// README says a host is protected when the device's ip or any of its
// network_interfaces[].ip is in a protected network. Every address counts,
// as for a Graph alert's ipInterfaces.
func TestProtectedCIDRCoversEveryElasticHostIP(t *testing.T) {
	raw := realSample(t, "elastic-security-alert.json")
	// host.ip as the sample writes it, with the host's address on the
	// protected server network after its public one.
	raw["host"].(map[string]any)["ip"] = []any{"127.0.0.1", "::1", "89.160.20.156", "10.20.30.40"}
	det, _, err := convert.One(0, raw, convert.FormatElastic)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("policy.yaml", []byte("protected:\n  cidrs: [\"10.20.0.0/16\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	host := "siem-linux-release-sec-bis"
	for _, req := range []Request{
		{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": host}, Auto: true, Facts: NewFacts(det, nil)},
		{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": host}, Auto: true, Detection: det},
	} {
		d := p.Evaluate(req, false)
		if d.Decision != Gate || d.Rule != "protected_asset" || !strings.Contains(d.Why, "10.20.30.40") {
			t.Errorf("contain %s (host.ip 127.0.0.1, ::1, 89.160.20.156, 10.20.30.40; protected 10.20.0.0/16; facts %v): %+v; want gated as protected", host, req.Facts != nil, d)
		}
	}
}
