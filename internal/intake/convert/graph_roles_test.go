package convert

import (
	"testing"

	"github.com/riposte-dev/riposte/internal/finding"
)

// Graph alert evidence says which part each entity plays (alertEvidence
// roles, Microsoft Graph docs: "an IP address that is associated with an
// attacker has the evidence role Attacker"; evidenceRole has source,
// destination, attacked, attacker, compromised, commandAndControl …). A
// device the alert names as the destination or the one attacked (the
// domain controller of a Defender for Identity alert) is not the host to
// contain: it must not become affected_host, as CrowdStrike's
// target_endpoint_host_name does not. An IP evidence in the role of
// destination or command-and-control is the far end, not a source.
func TestGraphEvidenceRoles(t *testing.T) {
	for _, tc := range []struct {
		roles    []any
		affected string
	}{
		{[]any{"compromised"}, "tempDns"}, // as the sample is
		{[]any{}, "tempDns"},
		{[]any{"destination"}, ""},
		{[]any{"attacked"}, ""},
		{[]any{"attacked", "compromised"}, "tempDns"},
	} {
		m := readSample(t, "graph-alert-v2.json")
		m["evidence"].([]any)[0].(map[string]any)["roles"] = tc.roles
		out, err := Graph(m)
		if err != nil {
			t.Fatal(err)
		}
		view := finding.Build(out, finding.DefaultConfig())
		if got := finding.AffectedHost(view); got != tc.affected {
			t.Errorf("device evidence roles %v: affected host %q, want %q (hosts %v)", tc.roles, got, tc.affected, view["hosts"])
		}
		if finding.Primary(view, "hosts") != "tempDns" {
			t.Errorf("roles %v: the device is no longer in finding.hosts: %v", tc.roles, view["hosts"])
		}
	}

	m := readSample(t, "graph-alert-v2.json")
	m["evidence"] = append(m["evidence"].([]any),
		map[string]any{"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "203.0.113.9", "roles": []any{"commandAndControl"}},
		map[string]any{"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "198.51.100.7", "roles": []any{"attacker", "source"}})
	out, err := Graph(m)
	if err != nil {
		t.Fatal(err)
	}
	view := finding.Build(out, finding.DefaultConfig())
	if got := finding.PrimaryFrom(view, "ips", "evidences[3].dst_endpoint.ip"); got != "203.0.113.9" {
		t.Errorf("command-and-control IP evidence: not read as a destination: ips %v", view["ips"])
	}
	if got := finding.PrimaryFrom(view, "ips", "evidences[4].src_endpoint.ip"); got != "198.51.100.7" {
		t.Errorf("attacker IP evidence: not read as a source: ips %v", view["ips"])
	}
}
