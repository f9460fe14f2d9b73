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
