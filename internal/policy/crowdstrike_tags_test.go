package policy

import (
	"strings"
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

// A host contained by name is the detection's device when the names agree:
// protected cidrs cover it by the device's address (the real EPP sample's
// host ABC709-1175 at 81.2.69.142), with or without a domain; another host
// named in the step is not judged by that address.
func TestProtectedCIDRCoversHostContainedByName(t *testing.T) {
	det, _, err := convert.One(0, realSample(t, "crowdstrike-alert-epp.json"), convert.FormatCrowdStrike)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("policy.yaml", []byte("protected:\n  cidrs: [\"81.2.69.0/24\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"hostname": "ABC709-1175"}, Gate},
		{map[string]any{"hostname": "abc709-1175.abc.local"}, Gate},
		{map[string]any{"items": []any{map[string]any{"device_name": "other"}, map[string]any{"device_name": "ABC709-1175"}}}, Gate},
		{map[string]any{"hostname": "other-host"}, Allow},
		{map[string]any{"hostname": "ABC709-1175-B"}, Allow},
	} {
		for _, req := range []Request{
			{Action: "crowdstrike.contain_host", Params: tc.params, Auto: true, Facts: NewFacts(det, nil)},
			{Action: "crowdstrike.contain_host", Params: tc.params, Auto: true, Detection: det},
		} {
			d := p.Evaluate(req, false)
			if d.Decision != tc.want || (tc.want == Gate && (d.Rule != "protected_asset" || !strings.Contains(d.Why, "81.2.69.142"))) {
				t.Errorf("params %v (facts %v): %+v; want %s", tc.params, req.Facts != nil, d, tc.want)
			}
		}
	}
}
