package pbtest_test

import (
	"path/filepath"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// TestShippedEDRRoutingByProductSpelling: endpoint-threat,
// ransomware-behaviour and contain-credential-theft contain the host
// through the EDR that raised the alert, read from metadata.product
// (vendor_name + name). OCSF makes vendor_name optional (recommended), and
// producers spell the products as they were called when the mapping was
// written: Microsoft's Graph security API v1 names Defender for Endpoint
// "Windows Defender ATP" (securityVendorInformation: vendor Microsoft,
// provider Windows Defender ATP), Microsoft Sentinel's SecurityAlert
// "Microsoft Defender Advanced Threat Protection"; CrowdStrike's own
// alerts say "Falcon Insight" (source_products), SentinelOne's platform
// is "Singularity". Such an alert was contained through another EDR
// (ransomware-behaviour's default, Defender, isolates a Falcon host
// without a human on a workstation; Defender matches a short name to
// another machine), or, for Defender under its older name, not at all.
func TestShippedEDRRoutingByProductSpelling(t *testing.T) {
	set, _, diags := playbook.Load([]string{filepath.Join("..", "..", "playbooks")}, activities.Catalog())
	if len(diags) > 0 {
		t.Fatalf("shipped playbooks: %v", diags)
	}
	cases := []struct {
		vendor, name, want string
	}{
		// Spellings the playbooks already read.
		{"CrowdStrike", "Falcon", "crowdstrike"},
		{"Microsoft", "Microsoft Defender for Endpoint", "defender"},
		{"SentinelOne", "Singularity", "sentinelone"},
		{"Microsoft", "Microsoft Defender for Identity", ""},
		{"Elastic", "Elastic Defend", ""},
		// No vendor_name (OCSF: recommended, not required).
		{"", "Falcon Insight XDR", "crowdstrike"},
		{"", "Falcon", "crowdstrike"},
		{"", "Defender XDR", "defender"},
		{"", "Defender for Endpoint", "defender"},
		{"", "Windows Defender", "defender"},
		{"", "Singularity XDR", "sentinelone"},
		// Defender for Endpoint under its earlier names.
		{"Microsoft", "Windows Defender ATP", "defender"},
		{"Microsoft", "Microsoft Defender ATP", "defender"},
		{"Microsoft", "Microsoft Defender Advanced Threat Protection", "defender"},
	}
	for _, name := range []string{"endpoint-threat", "ransomware-behaviour", "contain-credential-theft"} {
		var c *playbook.Compiled
		for _, p := range set.Playbooks {
			if p.Playbook.Name == name {
				c = p
			}
		}
		if c == nil {
			t.Fatalf("no playbook %s", name)
		}
		for _, tc := range cases {
			product := map[string]any{"name": tc.name}
			if tc.vendor != "" {
				product["vendor_name"] = tc.vendor
			}
			det := map[string]any{
				"class_uid": 2004, "severity_id": 5, "time": 1764979200000, "confidence_score": 95,
				"metadata":     map[string]any{"version": "1.8.0", "product": product},
				"finding_info": map[string]any{"uid": "f-1", "title": "t"},
				"device":       map[string]any{"hostname": "fin-ws-042"},
			}
			view := finding.Build(det, finding.DefaultConfig())
			vars := map[string]any{}
			env := map[string]any{"detection": det, "finding": view, "vars": vars}
			var edr any = "(unset)"
			for _, v := range c.Vars {
				val, err := v.Prog.Eval(env)
				if err != nil {
					t.Fatalf("%s: vars.%s: %v", name, v.Name, err)
				}
				vars[v.Name] = val
				if v.Name == "edr" {
					edr = val
				}
			}
			if edr != tc.want {
				t.Errorf("%s: product {vendor_name: %q, name: %q}: contained through %q, want %q", name, tc.vendor, tc.name, edr, tc.want)
			}
		}
	}
}
