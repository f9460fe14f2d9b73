package api

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// The answer to POST /v1/detections lists, per detection, the warnings of
// what intake read differently from the letter of OCSF (README, "HTTP
// API"): a vendor alert converted to OCSF 2004, an OCSF 1.0 Security
// Finding mapped from class 2001, a time in seconds. Real samples from
// internal/intake/testdata/real (sources in its README).
func TestDetectionsAnswerCarriesWarnings(t *testing.T) {
	srv := newTestServer(t, &fakeStarter{})
	srv.MaxBody = 1 << 20
	h := srv.Handler()
	for _, tc := range []struct {
		file, path, want string
	}{
		{"crowdstrike-alert-epp.json", "", "converted from a crowdstrike alert to OCSF Detection Finding 2004"},
		{"elastic-security-alert.json", "", "converted from an elastic alert to OCSF Detection Finding 2004"},
		{"falco-kernel-module-2001.ocsf.json", "class_uid", "OCSF 1.0 Security Finding"},
	} {
		body, err := os.ReadFile("../intake/testdata/real/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		got := serve(h, post("/v1/detections", "Bearer "+testToken, string(body)))
		var resp struct {
			Detections []struct {
				Warnings []struct {
					Path    string `json:"path"`
					Message string `json:"message"`
				} `json:"warnings"`
			} `json:"detections"`
		}
		if err := json.Unmarshal([]byte(got.body), &resp); err != nil || got.code >= 300 || len(resp.Detections) != 1 {
			t.Fatalf("%s: %d %s", tc.file, got.code, got.body)
		}
		found := false
		for _, w := range resp.Detections[0].Warnings {
			found = found || (w.Path == tc.path && strings.Contains(w.Message, tc.want))
		}
		if !found {
			t.Errorf("%s: warnings %+v lack %s: %q", tc.file, resp.Detections[0].Warnings, tc.path, tc.want)
		}
	}
	// Seconds where OCSF wants milliseconds.
	got := serve(h, post("/v1/detections", "Bearer "+testToken, strings.Replace(det("w-1", 5, ""), `"time":1763458937000`, `"time":1763458937`, 1)))
	var resp struct {
		Detections []struct {
			Warnings []struct{ Path, Message string } `json:"warnings"`
		} `json:"detections"`
	}
	if err := json.Unmarshal([]byte(got.body), &resp); err != nil || len(resp.Detections) != 1 || len(resp.Detections[0].Warnings) != 1 ||
		resp.Detections[0].Warnings[0].Path != "time" || !strings.Contains(resp.Detections[0].Warnings[0].Message, "read as epoch seconds (OCSF wants milliseconds)") {
		t.Errorf("time in seconds: %d %s", got.code, got.body)
	}
}
