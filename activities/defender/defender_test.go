package defender_test

import (
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

func defenderState(h *connectortest.Harness, host string) string {
	for _, hs := range h.Lab.State().Hosts {
		if hs.Hostname == host {
			return hs.Defender
		}
	}
	return ""
}

// A short name: `computerDnsName eq 'fin-ws-042'` matches nothing and the
// List machines API answers 404 for an empty result; the lookup must go on
// to the FQDN prefix instead of reporting the host unknown.
func TestShortNameFallsBackAfter404(t *testing.T) {
	h := connectortest.New(t)
	out := h.MustRun("defender.isolate_machine", map[string]any{"hostname": "fin-ws-042"}, "k1")
	if out["hostname"] != "fin-ws-042.corp.example.com" {
		t.Errorf("output = %v", out)
	}
	_, err := h.Run("defender.isolate_machine", map[string]any{"hostname": "ghost-01"}, "k2")
	if ae := connectortest.AppError(t, err); ae.Type() != "NotFound" {
		t.Errorf("unknown host: %v", err)
	}
}

// Isolating while a release (Unisolate) is still pending: Defender
// answers 400 "Action is already in progress". That is not "already
// isolated": the machine is about to be back online.
func TestIsolateWhileUnisolatePendingIsNotDone(t *testing.T) {
	h := connectortest.New(t)
	h.MustRun("defender.isolate_machine", map[string]any{"hostname": "hr-ws-007"}, "k1")
	h.Lab.SetPending(time.Hour)
	h.MustRun("defender.unisolate_machine", map[string]any{"hostname": "hr-ws-007"}, "k2")
	out, err := h.Run("defender.isolate_machine", map[string]any{"hostname": "hr-ws-007"}, "k3")
	if err == nil {
		t.Fatalf("isolate reported success (%v) while an Unisolate is pending", out)
	}
	ae := connectortest.AppError(t, err)
	if ae.NonRetryable() || !strings.Contains(err.Error(), "Unisolate") {
		t.Errorf("err = %v (want retryable, naming the pending Unisolate)", err)
	}
}

// The same action already pending (a retry after a lost answer) is done.
func TestRepeatWhileSamePendingIsDone(t *testing.T) {
	h := connectortest.New(t)
	h.Lab.SetPending(time.Hour)
	h.Lab.InjectFault(lab.Defender, lab.Fault{Status: 502, Lost: true})
	if _, err := h.Run("defender.isolate_machine", map[string]any{"hostname": "ops-ws-011"}, "k1"); err == nil {
		t.Fatal("the lost answer should fail the first attempt")
	}
	out := h.MustRun("defender.isolate_machine", map[string]any{"hostname": "ops-ws-011"}, "k1")
	if out["already"] != true || out["status"] != "Pending" {
		t.Errorf("output = %v", out)
	}
	if n := h.Lab.Changes(lab.Defender, "isolate", "ops-ws-011"); n != 1 {
		t.Errorf("isolations = %d", n)
	}
	if got := defenderState(h, "ops-ws-011"); got == "not isolated" {
		t.Errorf("state = %s", got)
	}
}
