package virustotal_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// An IPv4-mapped address (::ffff:203.0.113.77) is looked up as the IPv4
// host it denotes, not as an IPv6 address VirusTotal has no verdict on.
func TestIPReportLooksUpTheIPv4OfAMappedAddress(t *testing.T) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"attributes":{"last_analysis_stats":{"malicious":9,"suspicious":0,"harmless":60,"undetected":20},"reputation":-20}}}`))
	}))
	defer srv.Close()
	h := connectortest.New(t)
	h.Env.Connections["virustotal"] = activities.Connection{Type: "virustotal", BaseURL: srv.URL,
		Secrets: map[string]activities.SecretRef{"api_key": {Lab: "k"}}}
	out := h.MustRun("virustotal.ip_report", map[string]any{"ip": "::ffff:203.0.113.77"}, "k1")
	if len(asked) != 1 || asked[0] != "/api/v3/ip_addresses/203.0.113.77" || out["link"] != "https://www.virustotal.com/gui/ip-address/203.0.113.77" {
		t.Errorf("asked VirusTotal for %v, link %v; want /api/v3/ip_addresses/203.0.113.77", asked, out["link"])
	}
}
