package panos_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities/panos"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/internal/labkit"
)

// handTag registers (or unregisters) tags for blockedIP on one firewall
// through Panorama as an analyst does by hand: the tags given, nothing
// beside them.
func handTag(t *testing.T, h *connectortest.Harness, serial string, register bool, tags ...string) {
	t.Helper()
	op := "unregister"
	if register {
		op = "register"
	}
	var members strings.Builder
	for _, tag := range tags {
		members.WriteString("<member>" + tag + "</member>")
	}
	cmd := `<uid-message><version>2.0</version><type>update</type><payload><` + op + `><entry ip="` + blockedIP + `"><tag>` +
		members.String() + `</tag></entry></` + op + `></payload></uid-message>`
	req, err := http.NewRequest(http.MethodPost, lab.Fake[*panos.Fake](h.Lab).PanoramaURL()+"/api/",
		strings.NewReader(url.Values{"type": {"user-id"}, "target": {serial}, "cmd": {cmd}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-PAN-KEY", h.Env.Connections["panos"].Secrets["api_key"].Lab)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
}

// A block through Panorama with one firewall in target: registered no
// owner tag. The connection then gets a second firewall, where an analyst
// blocked the address by hand: the undo found no owner tag anywhere, took
// the block for one of an earlier release and lifted it on both firewalls,
// the analyst's too.
func TestUnblockAfterATargetAddedLeavesABlockItDidNotPut(t *testing.T) {
	h := connectortest.New(t)
	fake := lab.Fake[*panos.Fake](h.Lab)
	handTag(t, h, panos.PanoramaSerials[1], true, "riposte-blocked")
	labConn(h, fake.PanoramaURL(), panos.PanoramaSerials[0])
	if out := h.MustRun("panos.block_ip", map[string]any{"ip": blockedIP}, "k1"); out["already"] != false {
		t.Fatalf("block out %v", out)
	}
	panoramaBoth(h)
	out := h.MustRun("panos.unblock_ip", map[string]any{"ip": blockedIP}, "k2")
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[1], blockedIP); !slices.Equal(tags, []string{"riposte-blocked"}) {
		t.Errorf("second firewall tags %v after the undo: the analyst's block was lifted", tags)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); len(tags) != 0 {
		t.Errorf("first firewall tags %v after the undo: want none", tags)
	}
	if left, _ := out["left_on"].([]any); len(left) != 1 || left[0] != panos.PanoramaSerials[1] {
		t.Errorf("unblock out %v: want left_on naming the second firewall", out)
	}
}

// A block through two firewalls, undone after the connection went down
// to one: the undo removed the block tag there and left the owner tag. An
// analyst's later block by hand on that firewall then carries it, and the
// undo of a later run's block through both firewalls lifted it.
func TestUnblockThroughOneFirewallRemovesTheOwnerTag(t *testing.T) {
	h := connectortest.New(t)
	fake := panoramaBoth(h)
	h.MustRun("panos.block_ip", map[string]any{"ip": blockedIP}, "k1")
	labConn(h, fake.PanoramaURL(), panos.PanoramaSerials[0])
	h.MustRun("panos.unblock_ip", map[string]any{"ip": blockedIP}, "k2")
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); len(tags) != 0 {
		t.Errorf("first firewall tags %v after the undo through it alone: want none (an owner tag left would claim the next block there)", tags)
	}
	// The analyst's block by hand, then another run's through both.
	handTag(t, h, panos.PanoramaSerials[0], true, "riposte-blocked")
	handTag(t, h, panos.PanoramaSerials[1], false, "riposte-blocked", "riposte.riposte-blocked")
	panoramaBoth(h)
	h.MustRun("panos.block_ip", map[string]any{"ip": blockedIP}, "k3")
	h.MustRun("panos.unblock_ip", map[string]any{"ip": blockedIP}, "k4")
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); !slices.Equal(tags, []string{"riposte-blocked"}) {
		t.Errorf("first firewall tags %v after the second run's undo: the analyst's block was lifted", tags)
	}
}

// An undo's retry that failed on the firewall whose block it lifts said
// "partially applied: done on firewall …" naming the firewall whose
// block it left in place (an analyst's): no attempt acted there.
func TestUnblockFailureDoesNotCountAFirewallItLeft(t *testing.T) {
	h := connectortest.New(t)
	analystBlock(h)
	panoramaBoth(h)
	h.MustRun("panos.block_ip", map[string]any{"ip": blockedIP}, "k1")
	_, err := runAttempts(t, h, "panos.unblock_ip", map[string]any{"ip": blockedIP}, 2, false, func(attempt int32) {
		// The first attempt fails before it acts; the second on the
		// unregister of its own block.
		h.Lab.Kit.InjectFault("panos", labkit.Fault{Status: 503, Lost: attempt == 2})
	})
	if err == nil {
		t.Fatal("want a failure")
	}
	if strings.Contains(err.Error(), "done on firewall "+panos.PanoramaSerials[0]) {
		t.Errorf("err = %v: names the firewall whose block the undo left", err)
	}
}
