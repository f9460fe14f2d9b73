package defender_test

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/connectortest"
)

// A machine under Selective isolation still lets Outlook, Teams and Skype
// through. A step asking for Full isolation must not answer "already":
// the containment asked for is not in place (the MachineAction's scope
// says which one is; "Isolate machine" and "MachineAction" in the
// Defender API reference). Nothing is sent either: Defender isolates a
// machine once ("Action is already in progress"), so the step fails
// naming the Selective isolation, without retry.
func TestFullIsolationAskedOverSelectiveIsNotAlready(t *testing.T) {
	h := connectortest.New(t)
	h.MustRun("defender.isolate_machine", map[string]any{"hostname": "hr-ws-007", "isolation_type": "Selective"}, "k1")
	out, err := h.Run("defender.isolate_machine", map[string]any{"hostname": "hr-ws-007", "isolation_type": "Full"}, "k2")
	if err == nil {
		t.Fatalf("Full isolation reported done (%v) while the machine is only selectively isolated", out)
	}
	ae := connectortest.AppError(t, err)
	if !ae.NonRetryable() || !strings.Contains(err.Error(), "Selective") {
		t.Errorf("err = %v (want non-retryable, naming the Selective isolation)", err)
	}
	// Full in place covers a Selective request, and a Selective retry.
	if out := h.MustRun("defender.isolate_machine", map[string]any{"hostname": "hr-ws-007", "isolation_type": "Selective"}, "k3"); out["already"] != true {
		t.Errorf("Selective over Selective: %v", out)
	}
	h.MustRun("defender.isolate_machine", map[string]any{"hostname": "fin-ws-042", "isolation_type": "Full"}, "k4")
	if out := h.MustRun("defender.isolate_machine", map[string]any{"hostname": "fin-ws-042", "isolation_type": "Selective"}, "k5"); out["already"] != true {
		t.Errorf("Selective over Full: %v", out)
	}
}
