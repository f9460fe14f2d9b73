package virustotal_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// An object VirusTotal knows but has not analysed (just submitted, or an
// address or domain no engine has judged) comes back 200 with
// last_analysis_stats all 0 and last_analysis_results empty
// (testdata/domain-report-unanalysed.json, testdata/README.md). Its 0
// malicious is no verdict: read as found=true, malicious=0 it made a
// condition `malicious > 0` skip containment as if VirusTotal had judged
// it clean. The step says analysed=false, and a real report analysed=true.
func TestUnanalysedIsNotClean(t *testing.T) {
	var answer []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	h := connectortest.New(t)
	h.Env.Connections["virustotal"] = activities.Connection{Type: "virustotal", BaseURL: srv.URL,
		Secrets: map[string]activities.SecretRef{"api_key": {Lab: "k"}}}

	answer = connectortest.Sample(t, "domain-report-unanalysed.json")
	out := h.MustRun("virustotal.domain_report", map[string]any{"domain": "down.mykings.pw"}, "k1")
	if got := fmt.Sprintf("%v %v %v", out["found"], out["analysed"], out["malicious"]); got != "true false 0" {
		t.Errorf("an unanalysed object read as found analysed malicious = %s (%v), want true false 0", got, out)
	}
	answer = connectortest.Sample(t, "domain-report.json")
	out = h.MustRun("virustotal.domain_report", map[string]any{"domain": "down.mykings.pw"}, "k2")
	if got := fmt.Sprintf("%v %v %v", out["found"], out["analysed"], out["malicious"]); got != "true true 8" {
		t.Errorf("an analysed object read as found analysed malicious = %s (%v), want true true 8", got, out)
	}
}
