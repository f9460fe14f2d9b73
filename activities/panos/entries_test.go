package panos_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/riposte-dev/riposte/activities/panos"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// beforeFirstRegister points the connection at the lab's Panorama, with
// targets, through a proxy that runs meanwhile once, just before the
// first User-ID register reaches a firewall (the first of targets): what
// someone else does between the connector's state query and its register.
func beforeFirstRegister(t *testing.T, h *connectortest.Harness, targets string, meanwhile func()) *panos.Fake {
	t.Helper()
	return beforeFirst(t, h, "<register>", targets, meanwhile)
}

// beforeFirst is beforeFirstRegister for the first User-ID update that
// carries op (<register> or <unregister>).
func beforeFirst(t *testing.T, h *connectortest.Harness, op, targets string, meanwhile func()) *panos.Fake {
	t.Helper()
	fake := lab.Fake[*panos.Fake](h.Lab)
	up, err := url.Parse(strings.TrimSuffix(fake.PanoramaURL(), "/panorama"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(up)
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if f, err := url.ParseQuery(string(body)); err == nil && f.Get("type") == "user-id" && strings.Contains(f.Get("cmd"), op) {
			once.Do(meanwhile)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	labConn(h, srv.URL+"/panorama", targets)
	return fake
}

// The block registers its tag and the owner tag in one message. Another
// run registered the owner tag between the block's state query and its
// register: the firewall answered "already exists" for the owner tag
// alone, and the connector read that one entry as the answer to the
// whole message: already: true, so the block it had just put was taken
// for someone else's (left by rollbacks, releasing nothing). Each entry
// is read for its tag.
func TestBlockIsItsOwnThoughTheOwnerTagWasRegisteredMeanwhile(t *testing.T) {
	h := connectortest.New(t)
	fake := beforeFirstRegister(t, h, panos.PanoramaSerials[0], func() { handTag(t, h, panos.PanoramaSerials[0], true, "riposte.riposte-blocked") })
	out := h.MustRun("panos.block_ip", map[string]any{"ip": blockedIP}, "k1")
	if out["already"] != false {
		t.Errorf("block out %v: want already false (the block tag was registered by this call)", out)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); !slices.Equal(tags, []string{"riposte-blocked", "riposte.riposte-blocked"}) {
		t.Errorf("tags %v, want the block tag and its owner tag", tags)
	}
}

// An analyst blocked the address on the first firewall between the
// block's state query and its register: the firewall answered "already
// exists" for the block tag and registered the owner tag beside the
// analyst's block, and the undo then took that block for Riposte's and
// lifted it with Riposte's own on the second firewall. The block removes
// the owner tag it put beside a block it found in place.
func TestBlockLeavesNoOwnerTagBesideABlockPutMeanwhile(t *testing.T) {
	h := connectortest.New(t)
	fake := beforeFirstRegister(t, h, panos.PanoramaSerials[0]+", "+panos.PanoramaSerials[1],
		func() { handTag(t, h, panos.PanoramaSerials[0], true, "riposte-blocked") })
	h.MustRun("panos.block_ip", map[string]any{"ip": blockedIP}, "k1")
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); !slices.Equal(tags, []string{"riposte-blocked"}) {
		t.Errorf("first firewall tags %v after the block: want the analyst's block tag alone (no owner tag)", tags)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[1], blockedIP); !slices.Equal(tags, []string{"riposte-blocked", "riposte.riposte-blocked"}) {
		t.Errorf("second firewall tags %v after the block: want the block tag and its owner tag", tags)
	}
	out := h.MustRun("panos.unblock_ip", map[string]any{"ip": blockedIP}, "k2")
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

// Through one firewall, the block that found an analyst's block put
// meanwhile answers already: true (a rollback leaves it) and leaves no
// owner tag there.
func TestBlockThroughOneFirewallFindsABlockPutMeanwhile(t *testing.T) {
	h := connectortest.New(t)
	fake := beforeFirstRegister(t, h, panos.PanoramaSerials[0], func() { handTag(t, h, panos.PanoramaSerials[0], true, "riposte-blocked") })
	out := h.MustRun("panos.block_ip", map[string]any{"ip": blockedIP}, "k1")
	if out["already"] != true {
		t.Errorf("block out %v: want already true (the analyst's block was there)", out)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); !slices.Equal(tags, []string{"riposte-blocked"}) {
		t.Errorf("tags %v after the block: want the analyst's block tag alone (no owner tag)", tags)
	}
}

// An analyst lifted the block tag between the undo's state query and its
// unregister of the block tag and the owner tag: the firewall removed the
// owner tag and answered "does not exist" for one entry, naming no tag.
// The undo succeeds: the owner tag is gone, and so is the block.
func TestUnblockWhileTheBlockIsLiftedMeanwhile(t *testing.T) {
	h := connectortest.New(t)
	fake := beforeFirst(t, h, "<unregister>", panos.PanoramaSerials[0], func() { handTag(t, h, panos.PanoramaSerials[0], false, "riposte-blocked") })
	h.MustRun("panos.block_ip", map[string]any{"ip": blockedIP}, "k1")
	if _, err := h.Run("panos.unblock_ip", map[string]any{"ip": blockedIP}, "k2"); err != nil {
		t.Errorf("undo: %v", err)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); len(tags) != 0 {
		t.Errorf("tags %v after the undo: want none", tags)
	}
}
