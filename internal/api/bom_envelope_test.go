package api

import (
	"net/http"
	"strings"
	"testing"
)

// The intake ignores a leading UTF-8 byte order mark (intake.Decode; Windows
// PowerShell 5.1's Set-Content/Out-File -Encoding UTF8 writes one), but
// the dry-run wrapper {"dry_run": true, "detections": [...]} with one was
// not recognised: the wrapper was read as a detection and refused 400
// "class_uid: is required", a dry run the caller cannot run. It is the
// same wrapper, with or without the mark; errors inside it are still
// located in the body as sent.
func TestAPIEnvelopeAfterBOM(t *testing.T) {
	st := &fakeStarter{}
	h := newTestServer(t, st).Handler()
	got := serve(h, post("/v1/detections", "Bearer "+testToken, "\ufeff"+`{"dry_run": true, "detections": [`+det("bom-1", 5, "")+`]}`))
	if got.code != http.StatusAccepted {
		t.Fatalf("BOM + wrapper: %d %.400s; want 202, a dry run", got.code, got.body)
	}
	if s := st.Starts(); len(s) != 1 || !s[0].Input.DryRun || !strings.HasPrefix(s[0].Options.ID, "dryrun:") {
		t.Errorf("starts %+v; want one dry run", s)
	}
	// A repeated key is still refused, at its place in the body as sent.
	got = serve(h, post("/v1/detections", "Bearer "+testToken, "\ufeff"+`{"dry_run": true, "detections": [], "dry_run": false}`))
	if got.code != http.StatusBadRequest || !strings.Contains(got.body, `repeated`) || !strings.Contains(got.body, "column 40") {
		t.Errorf("BOM + repeated key: %d %.400s; want 400 at line 1, column 40", got.code, got.body)
	}
}
