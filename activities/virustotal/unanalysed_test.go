package virustotal_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/labkit"
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

// The lab's fake (riposte dev) knows one file, IP and domain no engine has
// analysed (labkit.Unanalysed): it answers them shaped like
// testdata/domain-report-unanalysed.json (last_analysis_stats all 0,
// last_analysis_results empty), so the three actions read them as
// found: true, analysed: false, and a known-bad object still as analysed.
func TestLabFakeHasUnanalysedObjects(t *testing.T) {
	h := connectortest.New(t)
	conn := h.Lab.Connections()["virustotal"]
	req, _ := http.NewRequest(http.MethodGet, conn.BaseURL+"/api/v3/domains/"+labkit.Unanalysed.Domain, nil)
	req.Header.Set("x-apikey", conn.Secrets["api_key"].Lab)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got, doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(connectortest.Sample(t, "domain-report-unanalysed.json"), &doc)
	if d := labkit.ShapeDiff(got, doc); resp.StatusCode != http.StatusOK || len(d) > 0 {
		t.Errorf("unanalysed domain: %d, departs from the documented object: %v", resp.StatusCode, d)
	}
	data, _ := got["data"].(map[string]any)
	attrs, _ := data["attributes"].(map[string]any)
	if res, ok := attrs["last_analysis_results"].(map[string]any); !ok || len(res) != 0 {
		t.Errorf("unanalysed domain: last_analysis_results = %v, want {}", attrs["last_analysis_results"])
	}

	for i, c := range []struct{ action, param, id string }{
		{"virustotal.file_report", "hash", labkit.Unanalysed.FileSHA256},
		{"virustotal.ip_report", "ip", labkit.Unanalysed.IP},
		{"virustotal.domain_report", "domain", labkit.Unanalysed.Domain},
		{"virustotal.domain_report", "domain", strings.ToUpper(labkit.Unanalysed.Domain)},
	} {
		out := h.MustRun(c.action, map[string]any{c.param: c.id}, fmt.Sprintf("u%d", i))
		if s := fmt.Sprintf("%v %v %v %v %v %v", out["found"], out["analysed"], out["malicious"], out["suspicious"], out["harmless"], out["undetected"]); s != "true false 0 0 0 0" {
			t.Errorf("%s %s: found analysed counts = %s, want true false 0 0 0 0", c.action, c.id, s)
		}
	}
	out := h.MustRun("virustotal.ip_report", map[string]any{"ip": labkit.KnownBad.IP}, "bad")
	if out["analysed"] != true {
		t.Errorf("known-bad IP read as analysed = %v", out["analysed"])
	}
}

// The file object's last_analysis_stats also counts engines that gave no
// verdict: timeout, confirmed-timeout, failure, type-unsupported (VT API
// v3, "Files" object). A report where every engine is one of those has
// no verdict either: analysed=false, as for an object never scanned.
func TestNoVerdictCountsAreNotAnalysed(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(connectortest.Sample(t, "domain-report.json"), &doc); err != nil {
		t.Fatal(err)
	}
	doc["data"].(map[string]any)["attributes"].(map[string]any)["last_analysis_stats"] = map[string]any{
		"harmless": 0, "malicious": 0, "suspicious": 0, "undetected": 0,
		"timeout": 3, "confirmed-timeout": 1, "failure": 2, "type-unsupported": 60}
	answer, _ := json.Marshal(doc)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	h := connectortest.New(t)
	h.Env.Connections["virustotal"] = activities.Connection{Type: "virustotal", BaseURL: srv.URL,
		Secrets: map[string]activities.SecretRef{"api_key": {Lab: "k"}}}
	out := h.MustRun("virustotal.domain_report", map[string]any{"domain": "down.mykings.pw"}, "k1")
	if got := fmt.Sprintf("%v %v %v", out["found"], out["analysed"], out["malicious"]); got != "true false 0" {
		t.Errorf("a report without any engine's verdict read as found analysed malicious = %s (%v), want true false 0", got, out)
	}
}
