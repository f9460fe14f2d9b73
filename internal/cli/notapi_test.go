package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// An --api that points at something other than the Riposte API (the
// Temporal UI on 8233, a proxy's login or error page) answered HTML. A 200
// was reported as Go's "decoding API response: invalid character '<'
// looking for beginning of value", which does not say the address is
// wrong; an error status printed the whole page (kilobytes of markup) as
// the problem's detail. Both say what answered and what to check.
func TestAnswerNotFromTheAPI(t *testing.T) {
	page := "<!doctype html><html><head><title>502 Bad Gateway</title></head><body>" + strings.Repeat("<p>nginx</p>\n", 400) + "</body></html>"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if strings.HasPrefix(r.URL.Path, "/proxy/") {
			w.WriteHeader(http.StatusBadGateway)
		}
		_, _ = w.Write([]byte(page))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		api  string
		args []string
		want []string
	}{
		{srv.URL, []string{"runs", "list"}, []string{"is not the Riposte API's", "text/html", "--api", "RIPOSTE_API_URL"}},
		{srv.URL, []string{"approvals"}, []string{"is not the Riposte API's", "--api"}},
		{srv.URL + "/proxy", []string{"runs", "show", "pb:x"}, []string{"502 Bad Gateway", "text/html", "--api"}},
	} {
		code, _, stderr := runCLI(t, append(tc.args, "--api", tc.api, "--token", "t")...)
		if code != 1 {
			t.Errorf("%v: exit %d", tc.args, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, w, stderr)
			}
		}
		if strings.Contains(stderr, "invalid character") || strings.Contains(stderr, "<p>nginx</p>\n<p>") || len(stderr) > 1000 {
			t.Errorf("%v: stderr is Go's decoding error or the page itself (%d bytes):\n%.600s", tc.args, len(stderr), stderr)
		}
	}
}
