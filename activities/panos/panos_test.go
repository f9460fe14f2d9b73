package panos_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities/panos"

	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

func labConn(h *connectortest.Harness, baseURL, target string) {
	c := h.Env.Connections["panos"]
	c.BaseURL = baseURL
	c.Options = map[string]string{"tag": "riposte-blocked"}
	if target != "" {
		c.Options["target"] = target
	}
	h.Env.Connections["panos"] = c
}

// Registrations sent to Panorama without target=<serial> land in
// Panorama's own table and no firewall enforces them: refused.
func TestPanoramaWithoutTargetIsRefused(t *testing.T) {
	h := connectortest.New(t)
	labConn(h, lab.Fake[*panos.Fake](h.Lab).PanoramaURL(), "")
	_, err := h.Run("panos.block_ip", map[string]any{"ip": "203.0.113.77"}, "k")
	ae := connectortest.AppError(t, err)
	if !ae.NonRetryable() || ae.Type() != "NoConnection" || !strings.Contains(err.Error(), "target") {
		t.Errorf("err = %v", err)
	}
	if tags := lab.Fake[*panos.Fake](h.Lab).PanoramaRegistered("", "203.0.113.77"); len(tags) != 0 {
		t.Errorf("registered on Panorama itself: %v", tags)
	}
}

// With target, every listed firewall gets the registration, and the undo
// removes it from each.
func TestPanoramaTargetsEveryFirewall(t *testing.T) {
	h := connectortest.New(t)
	labConn(h, lab.Fake[*panos.Fake](h.Lab).PanoramaURL(), strings.Join(panos.PanoramaSerials, ", "))
	out := h.MustRun("panos.block_ip", map[string]any{"ip": "203.0.113.77"}, "k1")
	if out["already"] != false {
		t.Errorf("output = %v", out)
	}
	for _, s := range panos.PanoramaSerials {
		if tags := lab.Fake[*panos.Fake](h.Lab).PanoramaRegistered(s, "203.0.113.77"); !slices.Equal(tags, []string{"riposte-blocked", "riposte.riposte-blocked"}) {
			t.Errorf("firewall %s: tags %v, want the block tag and its owner tag", s, tags)
		}
	}
	if tags := lab.Fake[*panos.Fake](h.Lab).PanoramaRegistered("", "203.0.113.77"); len(tags) != 0 {
		t.Errorf("registered on Panorama itself: %v", tags)
	}
	if out := h.MustRun("panos.block_ip", map[string]any{"ip": "203.0.113.77"}, "k1"); out["already"] != true {
		t.Errorf("repeat: %v", out)
	}
	h.MustRun("panos.unblock_ip", map[string]any{"ip": "203.0.113.77"}, "k2")
	for _, s := range panos.PanoramaSerials {
		if tags := lab.Fake[*panos.Fake](h.Lab).PanoramaRegistered(s, "203.0.113.77"); len(tags) != 0 {
			t.Errorf("after undo, firewall %s: tags %v", s, tags)
		}
	}
}

// PAN-OS 10.0+ registers networks and ranges; a network with host bits
// set is a typo and refused.
func TestNetworksAndRanges(t *testing.T) {
	h := connectortest.New(t)
	for in, want := range map[string]string{"203.0.113.0/24": "203.0.113.0/24", "198.51.100.10-198.51.100.20": "198.51.100.10-198.51.100.20", "2001:db8::/48": "2001:db8::/48"} {
		out := h.MustRun("panos.block_ip", map[string]any{"ip": in}, "k-"+in)
		if out["ip"] != want {
			t.Errorf("%s: output %v", in, out)
		}
	}
	found := map[string]bool{}
	for _, b := range h.Lab.State().BlockedIPs {
		found[b.IP] = true
	}
	if !found["203.0.113.0/24"] || !found["198.51.100.10-198.51.100.20"] {
		t.Errorf("blocked = %+v", h.Lab.State().BlockedIPs)
	}
	for _, bad := range []string{"203.0.113.1/24", "198.51.100.20-198.51.100.10", "10.0.0.1-2001:db8::1", "not-an-ip"} {
		_, err := h.Run("panos.block_ip", map[string]any{"ip": bad}, "k")
		if ae := connectortest.AppError(t, err); ae.Type() != "InvalidParams" {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// Tags follow PAN-OS name rules; a quote or an operator word would change
// what the dynamic address group matches.
func TestTagRules(t *testing.T) {
	h := connectortest.New(t)
	for _, bad := range []string{`block"ed`, "a&b", "(x)", "and", "NOT", strings.Repeat("x", 128), "tab\there"} {
		_, err := h.Run("panos.block_ip", map[string]any{"ip": "198.51.100.23", "tag": bad}, "k")
		if ae := connectortest.AppError(t, err); ae.Type() != "InvalidParams" {
			t.Errorf("tag %q: %v", bad, err)
		}
	}
	out := h.MustRun("panos.block_ip", map[string]any{"ip": "198.51.100.23", "tag": "Riposte Quarantine_v2.1-x"}, "k")
	if out["tag"] != "Riposte Quarantine_v2.1-x" {
		t.Errorf("output = %v", out)
	}
	if _, err := h.Run("panos.block_ip", map[string]any{"ip": "not-an-ip"}, "k"); err == nil {
		t.Error("not-an-ip accepted")
	}
}

// An answer that is not XML is a vendor error quoting it, not a success.
func TestUnreadableAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "not xml at all")
	}))
	defer srv.Close()
	h := connectortest.New(t)
	labConn(h, srv.URL, "")
	_, err := h.Run("panos.block_ip", map[string]any{"ip": "203.0.113.77"}, "k")
	ae := connectortest.AppError(t, err)
	if !ae.NonRetryable() || ae.Type() != "VendorError" || !strings.Contains(err.Error(), "returned an unreadable answer (HTTP 200: not xml at all)") {
		t.Errorf("err = %v", err)
	}
}
