package defender_test

import (
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities/defender"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/internal/labkit"
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

// Two different machines share a short name in two DNS domains (the lab
// seeds web01.corp.example.com and web01.dmz.example.com). A detection
// naming "web01" is ambiguous: `computerDnsName eq 'web01'` answers 404 and
// `startswith(computerDnsName,'web01.')` lists both. Isolating the one seen
// last may cut off the healthy server: the step must fail, naming both
// machines and asking for the FQDN, with nothing isolated.
func TestShortNameOfMachinesInTwoDomainsIsRefused(t *testing.T) {
	h := connectortest.New(t)
	out, err := h.Run("defender.isolate_machine", map[string]any{"hostname": "web01"}, "k1")
	if err == nil {
		t.Fatalf("ambiguous short name isolated a machine: %v", out)
	}
	ae := connectortest.AppError(t, err)
	if !ae.NonRetryable() || ae.Type() != "InvalidParams" {
		t.Errorf("err = %v (type %s, non-retryable %v); want non-retryable InvalidParams", err, ae.Type(), ae.NonRetryable())
	}
	for _, want := range []string{"web01.corp.example.com", "web01.dmz.example.com", "FQDN"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v; want it to name %s", err, want)
		}
	}
	for _, r := range h.Lab.Requests(lab.Defender) {
		if r.Method == "POST" {
			t.Errorf("a machine action was sent: %s %s", r.Method, r.Path)
		}
	}
	if st := h.Lab.State().ContainedHosts; len(st) != 0 {
		t.Errorf("contained = %v", st)
	}
	// The FQDN names one machine: only that one is isolated.
	out = h.MustRun("defender.isolate_machine", map[string]any{"hostname": "web01.dmz.example.com"}, "k2")
	if out["hostname"] != "web01.dmz.example.com" {
		t.Errorf("output = %v", out)
	}
	st := h.Lab.State().ContainedHosts
	if len(st) != 1 || st[0].Hostname != "web01.dmz.example.com" {
		t.Errorf("contained = %v; want web01.dmz.example.com only", st)
	}
}

// Several records of one machine name (a reimaged or re-onboarded
// machine keeps its old record) are not ambiguous: the one seen most
// recently is acted on.
func TestShortNameWithStaleRecordsPicksLatest(t *testing.T) {
	h := connectortest.New(t)
	fk := lab.Fake[*defender.Fake](h.Lab)
	fk.AddMachine("sales-lt-023.corp.example.com", time.Now().Add(-30*24*time.Hour))
	fk.AddMachine("SALES-LT-023.corp.example.com", time.Now().Add(-60*24*time.Hour))
	out := h.MustRun("defender.isolate_machine", map[string]any{"hostname": "sales-lt-023"}, "k1")
	if want := labkit.StableID("def:sales-lt-023", 40); out["machine_id"] != want {
		t.Errorf("isolated %v; want the live machine %s", out, want)
	}
}
