package panos_test

import (
	"slices"
	"testing"

	"github.com/riposte-dev/riposte/activities/panos"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/internal/labkit"
)

const blockedIP = "203.0.113.77"

// panoramaBoth points the connection at the lab's Panorama with both of
// its firewalls as targets.
func panoramaBoth(h *connectortest.Harness) *panos.Fake {
	fake := lab.Fake[*panos.Fake](h.Lab)
	labConn(h, fake.PanoramaURL(), panos.PanoramaSerials[0]+", "+panos.PanoramaSerials[1])
	return fake
}

// analystBlock registers the block tag on the first firewall only, as an
// analyst (or another tool) does before the run: the tag alone (a block
// by Riposte through that one firewall carries an owner tag).
func analystBlock(h *connectortest.Harness) {
	handTag(h.T, h, panos.PanoramaSerials[0], true, "riposte-blocked")
}

// A block through Panorama that found the address already blocked on one
// firewall (an analyst's block) and blocked it on the other answered
// already: false, and its undo unregistered the tag on every firewall:
// the release at contain_for or a rollback lifted the analyst's block too.
// The block now registers an owner tag beside the block tag where it put
// it, and the undo lifts the block only where that tag is.
func TestUnblockThroughPanoramaLeavesABlockItDidNotPut(t *testing.T) {
	h := connectortest.New(t)
	analystBlock(h)
	fake := panoramaBoth(h)
	out := h.MustRun("panos.block_ip", map[string]any{"ip": blockedIP}, "k1")
	if out["already"] != false {
		t.Fatalf("block out %v: want already false (the second firewall was blocked)", out)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); !slices.Equal(tags, []string{"riposte-blocked"}) {
		t.Errorf("first firewall tags %v: the block must leave the analyst's registration as it was", tags)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[1], blockedIP); !slices.Contains(tags, "riposte-blocked") || !slices.Contains(tags, "riposte.riposte-blocked") {
		t.Errorf("second firewall tags %v: want the block tag and its owner tag", tags)
	}
	out = h.MustRun("panos.unblock_ip", map[string]any{"ip": blockedIP}, "k2")
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); !slices.Equal(tags, []string{"riposte-blocked"}) {
		t.Errorf("first firewall tags %v after the undo: the analyst's block was lifted", tags)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[1], blockedIP); len(tags) != 0 {
		t.Errorf("second firewall tags %v after the undo: want none", tags)
	}
	if left, _ := out["left_on"].([]any); len(left) != 1 || left[0] != panos.PanoramaSerials[0] {
		t.Errorf("unblock out %v: want left_on naming the first firewall", out)
	}
}

// An undo whose answer was lost after it lifted the run's own block (the
// owner tag gone with it) is retried: the retry must not take the
// firewalls without an owner tag for blocks of an earlier release (which
// it lifts everywhere) and lift the analyst's.
func TestUnblockRetriedAfterALostAnswerLeavesABlockItDidNotPut(t *testing.T) {
	h := connectortest.New(t)
	analystBlock(h)
	fake := panoramaBoth(h)
	h.MustRun("panos.block_ip", map[string]any{"ip": blockedIP}, "k1")
	h.Lab.Kit.InjectFault("panos", labkit.Fault{Status: 503, Lost: true})
	if _, err := h.RunWithRetries("panos.unblock_ip", map[string]any{"ip": blockedIP}, 3); err != nil {
		t.Fatal(err)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); !slices.Equal(tags, []string{"riposte-blocked"}) {
		t.Errorf("first firewall tags %v after the retried undo: the analyst's block was lifted", tags)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[1], blockedIP); len(tags) != 0 {
		t.Errorf("second firewall tags %v after the retried undo: want none", tags)
	}
}

// A block put by an earlier release has no owner tag on any firewall: its
// undo lifts the block tag wherever it is, as before.
func TestUnblockOfABlockWithoutOwnerTagsLiftsItEverywhere(t *testing.T) {
	h := connectortest.New(t)
	analystBlock(h)
	// The earlier release's block: the tag alone.
	handTag(t, h, panos.PanoramaSerials[1], true, "riposte-blocked")
	fake := panoramaBoth(h)
	h.MustRun("panos.unblock_ip", map[string]any{"ip": blockedIP}, "k2")
	for _, s := range panos.PanoramaSerials {
		if tags := fake.PanoramaRegistered(s, blockedIP); len(tags) != 0 {
			t.Errorf("firewall %s tags %v: want the block lifted", s, tags)
		}
	}
}

// An undo that lifted its own block and lost the answer, then ran out of
// attempts (the rollback failed), is run again later as a new activity
// (a retried rollback, a withdrawal): no heartbeat details, and no owner
// tag left anywhere. Taking that for a block of an earlier release lifted
// the tag wherever it was, the analyst's block too. An earlier release
// blocked on every firewall of the target list: only a block on all of
// them, none with an owner tag, is lifted so.
func TestUnblockRunAgainAfterItsBlockWasLiftedLeavesABlockItDidNotPut(t *testing.T) {
	h := connectortest.New(t)
	analystBlock(h)
	fake := panoramaBoth(h)
	h.MustRun("panos.block_ip", map[string]any{"ip": blockedIP}, "k1")
	h.Lab.Kit.InjectFault("panos", labkit.Fault{Status: 503, Lost: true})
	if _, err := h.RunWithRetries("panos.unblock_ip", map[string]any{"ip": blockedIP}, 1); err == nil {
		t.Fatal("want the undo's only attempt to fail (its answer lost)")
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[1], blockedIP); len(tags) != 0 {
		t.Fatalf("second firewall tags %v: the premise is an undo that lifted its block", tags)
	}
	out := h.MustRun("panos.unblock_ip", map[string]any{"ip": blockedIP}, "k3")
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); !slices.Equal(tags, []string{"riposte-blocked"}) {
		t.Errorf("first firewall tags %v after the undo ran again: the analyst's block was lifted", tags)
	}
	if left, _ := out["left_on"].([]any); len(left) != 1 || left[0] != panos.PanoramaSerials[0] {
		t.Errorf("unblock out %v: want left_on naming the first firewall", out)
	}
}
