package abuseipdb_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// AbuseIPDB's CHECK answer always holds data.abuseConfidenceScore
// (docs.abuseipdb.com, "CHECK Endpoint"; testdata/check-verbose.json). A
// 200 without it comes from something else (a proxy's or gateway's JSON, a
// base_url that is another API): read as it was, it gave score 0, "clean",
// a verdict nobody issued. It must fail the step and say why.
func TestAnswerWithoutScoreIsAnError(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"empty object", `{}`},
		{"another API's answer", `{"status":"ok"}`},
		{"data without the score", `{"data":{"ipAddress":"203.0.113.9","isPublic":true,"totalReports":0}}`},
		{"score null", `{"data":{"ipAddress":"203.0.113.9","abuseConfidenceScore":null}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			h := connectortest.New(t)
			h.Env.Connections["abuseipdb"] = activities.Connection{Type: "abuseipdb", BaseURL: srv.URL,
				Secrets: map[string]activities.SecretRef{"api_key": {Lab: "k3y"}}}
			out, err := h.Run("abuseipdb.check_ip", map[string]any{"ip": "203.0.113.9"}, "k1")
			if err == nil {
				t.Fatalf("an answer without abuseConfidenceScore became a verdict: %v", out)
			}
			ae := connectortest.AppError(t, err)
			if !ae.NonRetryable() || ae.Type() != "VendorError" || !strings.Contains(err.Error(), "abuseConfidenceScore") {
				t.Errorf("error = %s %v, want a non-retryable VendorError naming abuseConfidenceScore", ae.Type(), err)
			}
		})
	}
}
