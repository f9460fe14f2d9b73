package virustotal_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/labkit"
)

// The fake against VirusTotal's documented answers, and the connector on
// those answers as they are (testdata/README.md).
func TestDocumentedSamples(t *testing.T) {
	report, notFound := connectortest.Sample(t, "domain-report.json"), connectortest.Sample(t, "error-notfound.json")
	h := connectortest.New(t)
	conn := h.Lab.Connections()["virustotal"]
	get := func(path string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, conn.BaseURL+path, nil)
		req.Header.Set("x-apikey", conn.Secrets["api_key"].Lab)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, m
	}
	var docReport, docNotFound any
	_ = json.Unmarshal(report, &docReport)
	_ = json.Unmarshal(notFound, &docNotFound)

	// A known domain: 200 with the documented object's keys and types.
	status, got := get("/api/v3/domains/" + labkit.KnownBad.Domain)
	if d := labkit.ShapeDiff(got, docReport); status != http.StatusOK || len(d) > 0 {
		t.Errorf("domain report: %d, departs from the documented answer: %v", status, d)
	}
	// An unknown one: 404 with the documented NotFoundError body.
	status, got = get("/api/v3/domains/never-seen.example.org")
	e, _ := got["error"].(map[string]any)
	if d := labkit.ShapeDiff(got, docNotFound); status != http.StatusNotFound || len(d) > 0 || e["code"] != "NotFoundError" {
		t.Errorf("unknown domain: %d %v, departs from the documented error: %v", status, got, d)
	}

	// The connector on the documented bodies themselves.
	var answer []byte
	answerStatus := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(answerStatus)
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	h.Env.Connections["virustotal"] = activities.Connection{Type: "virustotal", BaseURL: srv.URL,
		Secrets: map[string]activities.SecretRef{"api_key": {Lab: "k"}}}
	answer = report
	out := h.MustRun("virustotal.domain_report", map[string]any{"domain": "down.mykings.pw"}, "k1")
	if fmt.Sprintf("%v %v %v %v %v", out["found"], out["malicious"], out["harmless"], out["undetected"], out["reputation"]) != "true 8 83 7 0" {
		t.Errorf("documented report read as %v", out)
	}
	answer, answerStatus = notFound, http.StatusNotFound
	out = h.MustRun("virustotal.domain_report", map[string]any{"domain": "down.mykings.pw"}, "k2")
	if fmt.Sprintf("%v %v", out["found"], out["malicious"]) != "false 0" {
		t.Errorf("documented NotFoundError read as %v", out)
	}
}
