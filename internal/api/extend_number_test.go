package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/sdk/mocks"
)

// POST /v1/runs/{id}/extend with "by" a bare JSON number (0, or 4 for
// four hours) was refused with Go's decoder error, "body must be ...:
// json: cannot unmarshal number into Go struct field ExtendRequest.by of
// type string": neither that 0 is zero (README: a zero extension is
// refused saying so, "also a bare 0") nor what to write. The 400 names
// the field, says what is wrong and gives the form to write; nothing
// reaches the run.
func TestExtendByABareNumberSaysWhatIsWrong(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	srv.Temporal = mocks.NewClient(t) // no call expected
	for _, tc := range []struct{ body, want string }{
		{`{"step":"isolate","by":0}`, `by: 0 is zero: give a positive duration as a string, such as "4h" (at most 365d)`},
		{`{"step":"isolate","by":-0.0}`, `by: -0.0 is zero: give a positive duration as a string, such as "4h"`},
		{`{"step":"isolate","by":4}`, `by: 4 is a number, not a duration: write it as a string with its unit, such as "4h" (at most 365d)`},
		{`{"step":"isolate","by":true}`, `by: must be a duration string such as "4h"`},
		{`{"step":"isolate","by":null}`, `by required`},
	} {
		got := serve(srv.Handler(), post("/v1/runs/w1/extend", "Bearer "+toks["approver"], tc.body))
		var pr struct{ Title, Detail string }
		_ = json.Unmarshal([]byte(got.body), &pr)
		if got.code != http.StatusBadRequest || pr.Title != "Malformed request" || !strings.Contains(pr.Detail, tc.want) {
			t.Errorf("%s: %d %s; want 400 saying %q", tc.body, got.code, got.body, tc.want)
		}
	}
}
