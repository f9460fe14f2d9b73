package virustotal_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// A 200 whose body is not a VirusTotal object with its analysis counts
// (data.attributes.last_analysis_stats: "Domains", "IP addresses" and
// "Files" objects in docs.virustotal.com/reference) comes from something
// else: a TLS-inspecting proxy's or gateway's JSON, a base_url that is
// another API. Read as it was, it gave found=true, malicious=0: a clean
// verdict nobody issued. Like a foreign 404 (TestForeign404IsAnError), it
// must fail the step and say why.
func TestForeign200IsAnError(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"empty object", `{}`},
		{"another API's answer", `{"status":"ok","message":"request accepted"}`},
		{"data without attributes", `{"data":{"id":"203.0.113.9","type":"ip_address"}}`},
		{"attributes without stats", `{"data":{"id":"203.0.113.9","type":"ip_address","attributes":{"reputation":0}}}`},
		{"stats not an object", `{"data":{"id":"203.0.113.9","type":"ip_address","attributes":{"last_analysis_stats":null}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			h := connectortest.New(t)
			h.Env.Connections["virustotal"] = activities.Connection{Type: "virustotal", BaseURL: srv.URL,
				Secrets: map[string]activities.SecretRef{"api_key": {Lab: "vt-key"}}}
			out, err := h.Run("virustotal.ip_report", map[string]any{"ip": "203.0.113.9"}, "k")
			if err == nil {
				t.Fatalf("a 200 that is not VirusTotal's object became a verdict: %v", out)
			}
			ae := connectortest.AppError(t, err)
			if !ae.NonRetryable() || ae.Type() != "VendorError" || !strings.Contains(err.Error(), "last_analysis_stats") {
				t.Errorf("error = %s %v, want a non-retryable VendorError naming last_analysis_stats", ae.Type(), err)
			}
		})
	}
}
