package policy

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/intake/convert"
)

// A Microsoft Graph (Defender) alert names its machine in evidence, not in
// a top-level device: the converted real alerts_v2 sample has
// evidences[].device {hostname tempDns, ip 1.1.1.1}. Isolating that machine
// by name (defender.isolate_machine hostname: tempDns, as endpoint-threat
// does with affected_host) is isolating the detection's device, so a
// protected network holding its address must gate the step as it does for
// a CrowdStrike alert's device; a host the alert does not name is not
// judged by that address.
func TestProtectedCIDRCoversGraphAlertMachineContainedByName(t *testing.T) {
	det, _, err := convert.One(0, realSample(t, "graph-alert-v2.json"), convert.FormatGraph)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("policy.yaml", []byte("protected:\n  cidrs: [\"1.1.1.0/24\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host string
		want string
	}{
		{"tempDns", Gate},
		{"TEMPDNS.contoso.example", Gate},
		{"other-host", Allow},
	} {
		for _, req := range []Request{
			{Action: "defender.isolate_machine", Params: map[string]any{"hostname": tc.host}, Auto: true, Facts: NewFacts(det, nil)},
			{Action: "defender.isolate_machine", Params: map[string]any{"hostname": tc.host}, Auto: true, Detection: det},
		} {
			d := p.Evaluate(req, false)
			if d.Decision != tc.want || (tc.want == Gate && (d.Rule != "protected_asset" || !strings.Contains(d.Why, "1.1.1.1"))) {
				t.Errorf("isolate %s (facts %v): %+v; want %s", tc.host, req.Facts != nil, d, tc.want)
			}
		}
	}
}
