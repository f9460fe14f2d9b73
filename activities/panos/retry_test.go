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
	"github.com/riposte-dev/riposte/internal/labkit"
)

// throughProxy points the connection at the lab's Panorama, with
// targets, through a proxy that calls hook with each request's form
// (type, target, cmd) before passing it on; a hook that returns true
// answers the request with HTTP 503 instead, without passing it on (the
// firewall did nothing). Calls to hook are serialized.
func throughProxy(t *testing.T, h *connectortest.Harness, targets string, hook func(f url.Values) (fail bool)) *panos.Fake {
	t.Helper()
	fake := lab.Fake[*panos.Fake](h.Lab)
	up, err := url.Parse(strings.TrimSuffix(fake.PanoramaURL(), "/panorama"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(up)
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f, _ := url.ParseQuery(string(body))
		mu.Lock()
		fail := hook(f)
		mu.Unlock()
		if fail {
			w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`<response status="error"><msg><line>Service Unavailable</line></msg></response>`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	labConn(h, srv.URL+"/panorama", targets)
	return fake
}

// uidOp is "register" or "unregister" for a User-ID update form, "" for
// any other request.
func uidOp(f url.Values) string {
	if f.Get("type") != "user-id" {
		return ""
	}
	if strings.Contains(f.Get("cmd"), "<unregister>") {
		return "unregister"
	}
	return "register"
}

// An analyst blocked the address on the first firewall between the
// block's state query and its register, and the block's removal of the
// owner tag it had just put beside that block failed: the step failed,
// and its retry found both tags, took the block for Riposte's and
// answered already. The undo then lifted the analyst's block. The retry
// honours what the failed attempt found: it removes the owner tag there
// and leaves the block as someone else's.
func TestBlockRetriedAfterTheOwnerTagRemovalFailedLeavesNoOwnerTag(t *testing.T) {
	h := connectortest.New(t)
	registers, unregisters := 0, 0
	fake := throughProxy(t, h, panos.PanoramaSerials[0]+", "+panos.PanoramaSerials[1], func(f url.Values) bool {
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
	if _, err := h.RunWithRetries("panos.block_ip", map[string]any{"ip": blockedIP}, 3); err != nil {
		t.Fatal(err)
	}
	if unregisters < 1 {
		t.Fatalf("%d unregisters: the premise is a failed removal of the owner tag, then a retry", unregisters)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); !slices.Equal(tags, []string{"riposte-blocked"}) {
		t.Errorf("first firewall tags %v after the retried block: want the analyst's block tag alone (no owner tag)", tags)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[1], blockedIP); !slices.Equal(tags, []string{"riposte-blocked", "riposte.riposte-blocked"}) {
		t.Errorf("second firewall tags %v after the retried block: want the block tag and its owner tag", tags)
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

// A block put by an earlier release (the tag alone, on every firewall of
// the list) is lifted everywhere. The undo lifted it on the first
// firewall and lost the answer: its retry found the tag on the second
// firewall alone, no owner tag anywhere, took that for someone else's
// block and left it (left_on), so the release released nothing there.
// The retry keeps the decision the first attempt took.
func TestUnblockOfAnEarlierReleasesBlockRetriedAfterALostAnswerLiftsItEverywhere(t *testing.T) {
	h := connectortest.New(t)
	for _, s := range panos.PanoramaSerials {
		handTag(t, h, s, true, "riposte-blocked")
	}
	fake := panoramaBoth(h)
	h.Lab.Kit.InjectFault("panos", labkit.Fault{Status: 503, Lost: true})
	out, err := h.RunWithRetries("panos.unblock_ip", map[string]any{"ip": blockedIP}, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range panos.PanoramaSerials {
		if tags := fake.PanoramaRegistered(s, blockedIP); len(tags) != 0 {
			t.Errorf("firewall %s tags %v after the retried undo: want the block lifted", s, tags)
		}
	}
	if _, ok := out["left_on"]; ok {
		t.Errorf("unblock out %v: want no left_on", out)
	}
}

// The undo lifted Riposte's block on the first firewall and lost the
// answer; before its retry an analyst blocked the address there by hand
// (the tag alone). The retry read the firewalls it chose from its
// heartbeat details and lifted the tag there again: the analyst's block.
// A firewall it chose is lifted only while its block carries the owner
// tag; one without is left (left_on).
func TestUnblockRetryLeavesABlockPutByHandAfterItLiftedItsOwn(t *testing.T) {
	h := connectortest.New(t)
	fake := panoramaBoth(h)
	h.MustRun("panos.block_ip", map[string]any{"ip": blockedIP}, "k1")
	h.Lab.Kit.InjectFault("panos", labkit.Fault{Status: 503, Lost: true})
	out, err := runAttempts(t, h, "panos.unblock_ip", map[string]any{"ip": blockedIP}, 3, false, func(attempt int32) {
		if attempt == 2 {
			if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); len(tags) != 0 {
				t.Errorf("first firewall tags %v: the premise is a first attempt that lifted the block there", tags)
			}
			handTag(t, h, panos.PanoramaSerials[0], true, "riposte-blocked")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); !slices.Equal(tags, []string{"riposte-blocked"}) {
		t.Errorf("first firewall tags %v after the retried undo: the analyst's block was lifted", tags)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[1], blockedIP); len(tags) != 0 {
		t.Errorf("second firewall tags %v after the retried undo: want none", tags)
	}
	if left, _ := out["left_on"].([]any); len(left) != 1 || left[0] != panos.PanoramaSerials[0] {
		t.Errorf("unblock out %v: want left_on naming the first firewall", out)
	}
}

// The undo found the address blocked on the first firewall only, with
// no owner tag (an analyst's block; Riposte's was lifted already), and
// chose to lift nothing; it failed before its end (a firewall did not
// answer), and before its retry the analyst blocked the address on the
// second firewall too. The retry, finding the tag on every firewall and no
// owner tag, took both for an earlier release's block and lifted them.
// It keeps the first attempt's choice.
func TestUnblockRetryKeepsItsChoiceToLiftNothing(t *testing.T) {
	h := connectortest.New(t)
	analystBlock(h)
	queries := 0
	fake := throughProxy(t, h, panos.PanoramaSerials[0]+", "+panos.PanoramaSerials[1], func(f url.Values) bool {
		if f.Get("type") != "op" || !strings.Contains(f.Get("cmd"), "<registered-ip>") {
			return false
		}
		// The first attempt asks both firewalls which block is whose,
		// then each for left_on: the last query fails, the analyst
		// blocks there meanwhile.
		if queries++; queries == 4 {
			handTag(t, h, panos.PanoramaSerials[1], true, "riposte-blocked")
			return true
		}
		return false
	})
	out, err := h.RunWithRetries("panos.unblock_ip", map[string]any{"ip": blockedIP}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if queries < 5 {
		t.Fatalf("%d state queries: the premise is a first attempt that failed at its fourth, then a retry", queries)
	}
	for _, s := range panos.PanoramaSerials {
		if tags := fake.PanoramaRegistered(s, blockedIP); !slices.Equal(tags, []string{"riposte-blocked"}) {
			t.Errorf("firewall %s tags %v after the retried undo: the analyst's block was lifted", s, tags)
		}
	}
	if left, _ := out["left_on"].([]any); len(left) != 2 {
		t.Errorf("unblock out %v: want left_on naming both firewalls", out)
	}
}
