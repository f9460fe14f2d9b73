package abuseipdb_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// An IPv4 address written IPv4-mapped (::ffff:203.0.113.77, as dual-stack
// sockets and Windows logon events report it) is the IPv4 host: AbuseIPDB
// must be asked about 203.0.113.77, not about an IPv6 address nobody
// reported, whose score 0 would read as clean. PAN-OS block_ip already
// registers the IPv4 form, and finding.ips lists it.
func TestCheckIPAsksAboutTheIPv4OfAMappedAddress(t *testing.T) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Query().Get("ipAddress"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"ipAddress":"203.0.113.77","isPublic":true,"abuseConfidenceScore":100,"totalReports":57}}`))
	}))
	defer srv.Close()
	h := connectortest.New(t)
	h.Env.Connections["abuseipdb"] = activities.Connection{Type: "abuseipdb", BaseURL: srv.URL,
		Secrets: map[string]activities.SecretRef{"api_key": {Lab: "k3y"}}}
	out := h.MustRun("abuseipdb.check_ip", map[string]any{"ip": "::ffff:203.0.113.77"}, "k1")
	if len(asked) != 1 || asked[0] != "203.0.113.77" || out["ip"] != "203.0.113.77" {
		t.Errorf("asked AbuseIPDB about %v, output ip %v; want 203.0.113.77", asked, out["ip"])
	}
}
