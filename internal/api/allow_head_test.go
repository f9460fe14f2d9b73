package api

import (
	"net/http/httptest"
	"testing"
)

// RFC 9110 §15.5.6: a 405's Allow lists every method the resource
// supports. A GET route answers HEAD too (ServeMux routes HEAD to it, and
// its own 405 lists HEAD with GET), but the API's 405 listed GET alone.
func TestMethodNotAllowedListsHEADWithGET(t *testing.T) {
	h := newTestServer(t, &fakeStarter{}).Handler()
	for _, tc := range []struct{ method, path, allow string }{
		{"POST", "/v1/runs", "GET, HEAD"},
		{"OPTIONS", "/v1/holds", "GET, HEAD"},
		{"DELETE", "/v1/runs/abc", "GET, HEAD"},
		{"HEAD", "/v1/detections", "POST"},
		{"GET", "/v1/detections", "POST"},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		r.Header.Set("Authorization", "Bearer "+testToken)
		got := serve(h, r)
		if got.code != 405 || got.header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: status %d, Allow %q; want 405 with Allow %q", tc.method, tc.path, got.code, got.header.Get("Allow"), tc.allow)
		}
	}
}
