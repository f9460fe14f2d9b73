package policy

import (
	"testing"

	"github.com/riposte-dev/riposte/internal/intake/convert"
)

// A CrowdStrike host is protected by its Falcon grouping tag (as Falcon
// writes it or by its name) and by its host group's id: the alert's
// device.tags and device.groups (field list of elastic/integrations
// packages/crowdstrike/data_stream/alert/fields/fields.yml) reach the
// guardrails through the converter. The alert is the real EPP sample with
// a grouping tag added (the sample's host has none); its group id is the
// sample's own.
func TestProtectedCrowdStrikeHostByTagAndGroup(t *testing.T) {
	alert := realSample(t, "crowdstrike-alert-epp.json")
	alert["device"].(map[string]any)["tags"] = []any{"FalconGroupingTags/crown-jewel", "SensorGroupingTags/finance"}
	det, _, err := convert.One(0, alert, convert.FormatCrowdStrike)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"FalconGroupingTags/crown-jewel", "crown-jewel", "finance", "18704e21288243b58e4c76266d38caaf"} {
		p, err := Parse("policy.yaml", []byte("protected:\n  tags: [\""+tag+"\"]\n"))
		if err != nil {
			t.Fatal(err)
		}
		req := Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "ABC709-1175"}, Auto: true, Facts: NewFacts(det, nil)}
		if d := p.Evaluate(req, false); d.Decision != Gate || d.Rule != "protected_asset" {
			t.Errorf("protected tag %q: %+v; want the protected_asset gate", tag, d)
		}
	}
	p, err := Parse("policy.yaml", []byte("protected:\n  tags: [\"payroll\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Action: "crowdstrike.contain_host", Params: map[string]any{"hostname": "ABC709-1175"}, Auto: true, Facts: NewFacts(det, nil)}
	if d := p.Evaluate(req, false); d.Decision != Allow {
		t.Errorf("a tag the host does not carry: %+v; want allowed", d)
	}
}
