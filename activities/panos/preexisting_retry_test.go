package panos_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/riposte-dev/riposte/activities/panos"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// blockMeetingAnAnalyst runs a block through Panorama with targets, up to
// three attempts: an analyst blocks the address by hand on the first
// firewall just before the block's first register reaches it, and the
// block's first unregister (its removal of the owner tag it registered
// beside that block) fails, so a retry ends the step.
func blockMeetingAnAnalyst(t *testing.T, h *connectortest.Harness, targets string) (map[string]any, *panos.Fake) {
	t.Helper()
	registers, unregisters := 0, 0
	fake := throughProxy(t, h, targets, func(f url.Values) bool {
		switch uidOp(f) {
		case "register":
			if registers++; registers == 1 {
				handTag(t, h, panos.PanoramaSerials[0], true, "riposte-blocked")
			}
		case "unregister":
			unregisters++
			return unregisters == 1
		}
		return false
	})
	out, err := h.RunWithRetries("panos.block_ip", map[string]any{"ip": blockedIP}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if unregisters < 2 {
		t.Fatalf("%d unregisters: the premise is a failed removal of the owner tag, then a retry that removes it", unregisters)
	}
	return out, fake
}

// Through one firewall, the block found an analyst's block put between
// its state query and its register, and its removal of the owner tag it
// had put beside it failed; the retry removed it and answered already,
// but a retry's "already" is not taken for preexisting (an earlier
// attempt may have put the block), so the run rolled the step back: the
// undo found the tag on every firewall and no owner tag, took it for an
// earlier release's block and lifted it, the analyst's block. The retry
// knows from its record that no attempt put it: preexisting.
func TestBlockRetryThatFoundOnlySomeoneElsesBlockIsPreexisting(t *testing.T) {
	h := connectortest.New(t)
	out, fake := blockMeetingAnAnalyst(t, h, panos.PanoramaSerials[0])
	if out["already"] != true || out[catalog.OutputPreexisting] != true {
		t.Errorf("block out %v: want already and preexisting (the block is the analyst's; a rollback must leave it)", out)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); !slices.Equal(tags, []string{"riposte-blocked"}) {
		t.Errorf("tags %v after the retried block: want the analyst's block tag alone", tags)
	}
}

// The same through two firewalls, the second blocked by hand before the
// step (no owner tag): every firewall carries someone else's block, and
// the undo of a step not taken for preexisting lifts both.
func TestBlockRetryThatFoundOnlyOthersBlocksOnEveryFirewallIsPreexisting(t *testing.T) {
	h := connectortest.New(t)
	handTag(t, h, panos.PanoramaSerials[1], true, "riposte-blocked")
	out, fake := blockMeetingAnAnalyst(t, h, panos.PanoramaSerials[0]+", "+panos.PanoramaSerials[1])
	if out["already"] != true || out[catalog.OutputPreexisting] != true {
		t.Errorf("block out %v: want already and preexisting (both blocks are the analysts'; a rollback must leave them)", out)
	}
	for _, s := range panos.PanoramaSerials {
		if tags := fake.PanoramaRegistered(s, blockedIP); !slices.Equal(tags, []string{"riposte-blocked"}) {
			t.Errorf("firewall %s tags %v after the retried block: want the analyst's block tag alone", s, tags)
		}
	}
}
