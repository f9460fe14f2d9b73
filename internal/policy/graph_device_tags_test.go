package policy

import (
	"testing"

	"github.com/riposte-dev/riposte/internal/intake/convert"
)

// A Defender machine's tags (Microsoft Graph alertEvidence.tags: "custom
// tags associated with an evidence instance, for example to denote a group
// of devices, high-value assets") and its device group
// (deviceEvidence.rbacGroupName) are how a site marks its crown jewels in
// Defender. The Graph converter dropped both, and the asset tags were read
// from the detection's top-level device only, never from the devices its
// evidences[] name (where a Graph alert, and any OCSF producer that puts
// the device in its evidence, names its machine): protected tags never
// matched, and a machine tagged crown-jewel was isolated automatically.
func TestProtectedTagsOfGraphDeviceEvidence(t *testing.T) {
	for _, tc := range []struct{ name, tag string }{
		{"tags", "crown-jewel"},            // deviceEvidence.tags ["crown-jewel"]
		{"rbacGroupName", "Tier0-Servers"}, // deviceEvidence.rbacGroupName
	} {
		raw := realSample(t, "graph-alert-v2.json")
		for _, e := range raw["evidence"].([]any) {
			if em := e.(map[string]any); em["@odata.type"] == "#microsoft.graph.security.deviceEvidence" {
				em["tags"] = []any{"crown-jewel"}
				em["rbacGroupName"] = "Tier0-Servers"
			}
		}
		det, _, err := convert.One(0, raw, convert.FormatGraph)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse("policy.yaml", []byte("protected:\n  tags: [\""+tc.tag+"\"]\n"))
		if err != nil {
			t.Fatal(err)
		}
		for _, req := range []Request{
			{Action: "defender.isolate_machine", Params: map[string]any{"hostname": "tempDns"}, Auto: true, Facts: NewFacts(det, nil)},
			{Action: "defender.isolate_machine", Params: map[string]any{"hostname": "tempDns"}, Auto: true, Detection: det},
		} {
			if d := p.Evaluate(req, false); d.Decision != Gate || d.Rule != "protected_asset" {
				t.Errorf("Graph alert, machine's %s %q protected (facts %v): %+v; want the protected_asset gate", tc.name, tc.tag, req.Facts != nil, d)
			}
		}
	}
}

// An OCSF detection that names its device in evidences[] (as OCSF 1.1+
// Detection Finding allows) with labels the policy protects.
func TestProtectedTagsOfEvidenceDevice(t *testing.T) {
	det := map[string]any{
		"evidences": []any{map[string]any{"device": map[string]any{
			"hostname": "fin-ws-042", "labels": []any{"crown-jewel"},
		}}},
	}
	p, err := Parse("policy.yaml", []byte("protected:\n  tags: [crown-jewel]\n"))
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "fin-ws-042"}, Auto: true, Facts: NewFacts(det, nil)}
	if d := p.Evaluate(req, false); d.Decision != Gate || d.Rule != "protected_asset" {
		t.Errorf("evidences[].device.labels [crown-jewel], protected tag crown-jewel: %+v; want the protected_asset gate", d)
	}
}
