package policy

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/intake/convert"
)

// Microsoft Graph's deviceEvidence.ipInterfaces is a collection ("IP
// interfaces of the device during the time of the alert"): a Defender
// machine lists every address it had, often an IPv6 link-local or another
// network first. The converter kept ipInterfaces[0] alone, so a machine
// whose protected address was not listed first was isolated automatically
// though docs/guardrails.md says each device the evidence names is judged
// by its own address. Every interface counts.
func TestProtectedCIDRCoversEveryGraphDeviceInterface(t *testing.T) {
	raw := realSample(t, "graph-alert-v2.json")
	for _, e := range raw["evidence"].([]any) {
		if em := e.(map[string]any); em["@odata.type"] == "#microsoft.graph.security.deviceEvidence" {
			em["ipInterfaces"] = []any{"fe80::1c2d:3e4f:5a6b:7c8d", "192.168.7.20", "10.20.30.40"}
		}
	}
	det, _, err := convert.One(0, raw, convert.FormatGraph)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("policy.yaml", []byte("protected:\n  cidrs: [\"10.20.0.0/16\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []Request{
		{Action: "defender.isolate_machine", Params: map[string]any{"hostname": "tempDns"}, Auto: true, Facts: NewFacts(det, nil)},
		{Action: "defender.isolate_machine", Params: map[string]any{"hostname": "tempDns"}, Auto: true, Detection: det},
	} {
		d := p.Evaluate(req, false)
		if d.Decision != Gate || d.Rule != "protected_asset" || !strings.Contains(d.Why, "10.20.30.40") {
			t.Errorf("isolate tempDns (interfaces fe80::…, 192.168.7.20, 10.20.30.40; protected 10.20.0.0/16; facts %v): %+v; want gated as protected", req.Facts != nil, d)
		}
	}
	// A host the alert does not name is still not judged by its addresses.
	if d := p.Evaluate(Request{Action: "defender.isolate_machine", Params: map[string]any{"hostname": "other-host"}, Auto: true, Facts: NewFacts(det, nil)}, false); d.Decision != Allow {
		t.Errorf("isolate other-host: %+v; want allowed", d)
	}
}
