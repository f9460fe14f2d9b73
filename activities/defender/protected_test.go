package defender_test

import (
	"testing"

	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/policy"
)

// TestProtectedMachineByShortName: the operator protects a machine by its
// DNS name as Defender shows it (computerDnsName, the FQDN); a playbook
// passes the short name (the detection's device.hostname), which
// defender.isolate_machine resolves to that very machine. The guardrails
// must gate the short name as they gate the FQDN.
func TestProtectedMachineByShortName(t *testing.T) {
	const fqdn = "fin-ws-042.corp.example.com"
	p, err := policy.Parse("policy.yaml", []byte("protected: {hosts: [\""+fqdn+"\"]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := connectortest.New(t)
	out := h.MustRun("defender.isolate_machine", map[string]any{"hostname": "fin-ws-042"}, "k1")
	if out["hostname"] != fqdn {
		t.Fatalf("isolate_machine resolved fin-ws-042 to %v; this test needs the lab's %s", out["hostname"], fqdn)
	}
	for _, host := range []string{"fin-ws-042", fqdn} {
		d := p.Evaluate(policy.Request{Action: "defender.isolate_machine", Params: map[string]any{"hostname": host}, Auto: true, Facts: &policy.Facts{}}, false)
		if d.Decision != policy.Gate || d.Rule != "protected_asset" {
			t.Errorf("hostname %s: %+v, want a protected_asset gate (Defender isolates %s)", host, d, fqdn)
		}
	}
}
