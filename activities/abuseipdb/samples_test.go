package abuseipdb_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// The connector on AbuseIPDB's documented CHECK answer, as it is
// (testdata/README.md), and the lab fake on the same request.
func TestDocumentedSample(t *testing.T) {
	doc, err := os.ReadFile("testdata/check-verbose.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/check" || r.URL.Query().Get("ipAddress") != "118.25.6.39" || r.Header.Get("Accept") != "application/json" {
			http.Error(w, "<html>unexpected</html>", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	defer srv.Close()
	h := connectortest.New(t)
	h.Env.Connections["abuseipdb"] = activities.Connection{Type: "abuseipdb", BaseURL: srv.URL,
		Secrets: map[string]activities.SecretRef{"api_key": {Lab: "k3y"}}}
	out := h.MustRun("abuseipdb.check_ip", map[string]any{"ip": "118.25.6.39"}, "k1")
	if out["abuse_confidence_score"] != 100 && out["abuse_confidence_score"] != float64(100) {
		t.Errorf("score = %v (%T)", out["abuse_confidence_score"], out["abuse_confidence_score"])
	}
	if out["country_code"] != "CN" || out["is_whitelisted"] != false || out["ip"] != "118.25.6.39" {
		t.Errorf("out = %v", out)
	}
}
