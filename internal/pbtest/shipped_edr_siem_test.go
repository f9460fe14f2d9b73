package pbtest_test

import (
	"path/filepath"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// TestShippedNonEDRMicrosoftProducerUsesSiteEDR: README says a detection
// from a producer that is not an EDR (an AI triage, a SIEM) is contained
// through this site's EDR (CrowdStrike for endpoint-threat and
// contain-credential-theft, Defender for ransomware-behaviour), and only
// another EDR without a containment action contains nothing. The playbooks
// read every product whose name holds "microsoft" as such an EDR, so
// Microsoft's SIEM (Microsoft Sentinel, Azure Sentinel: a scheduled
// analytics rule's alert) and its AI triage (Security Copilot) contained
// nothing, and contain-credential-theft paged the on-call to "contain the
// host by hand from Microsoft Microsoft Sentinel's console", which has no
// such action.
func TestShippedNonEDRMicrosoftProducerUsesSiteEDR(t *testing.T) {
	set, _, diags := playbook.Load([]string{filepath.Join("..", "..", "playbooks")}, activities.Catalog())
	if len(diags) > 0 {
		t.Fatalf("shipped playbooks: %v", diags)
	}
	siteEDR := map[string]string{"endpoint-threat": "crowdstrike", "ransomware-behaviour": "defender", "contain-credential-theft": "crowdstrike"}
	products := [][2]string{
		{"Microsoft", "Microsoft Sentinel"},
		{"Microsoft", "Azure Sentinel"},
		{"", "Microsoft Sentinel"},
		{"Microsoft", "Microsoft Security Copilot"},
	}
	for name, want := range siteEDR {
		var c *playbook.Compiled
		for _, p := range set.Playbooks {
			if p.Playbook.Name == name {
				c = p
			}
		}
		if c == nil {
			t.Fatalf("no playbook %s", name)
		}
		for _, pr := range products {
			product := map[string]any{"name": pr[1]}
			if pr[0] != "" {
				product["vendor_name"] = pr[0]
			}
			det := map[string]any{
				"class_uid": 2004, "severity_id": 5, "time": 1764979200000, "confidence_score": 95,
				"metadata":     map[string]any{"version": "1.8.0", "product": product},
				"finding_info": map[string]any{"uid": "f-1", "title": "t"},
				"device":       map[string]any{"hostname": "fin-ws-042"},
			}
			vars := map[string]any{}
			env := map[string]any{"detection": det, "finding": finding.Build(det, finding.DefaultConfig()), "vars": vars}
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
			if edr != want {
				t.Errorf("%s: product {vendor_name: %q, name: %q} (not an EDR): contained through %q, want this site's EDR %q", name, pr[0], pr[1], edr, want)
			}
		}
	}
}
