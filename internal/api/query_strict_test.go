package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A query parameter the route does not read must not be dropped silently:
// ?dryrun=true, ?dry-run=1 or ?DRY_RUN=true (a misspelt dry run), a
// dry_run given twice (which one wins?), or a pair the query parser drops
// (dry_run=1; or a bad escape) all read as "no dry run" and started live
// containment. Each is a 400 naming the parameter, and nothing starts.
func TestDetectionsRefuseUnknownRepeatedAndUnparsableQuery(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"dryrun=true", `unknown query parameter \"dryrun\"`},
		{"dry-run=1", `unknown query parameter \"dry-run\"`},
		{"DRY_RUN=true", `unknown query parameter \"DRY_RUN\"`},
		{"dryRun=true&explain=false", `unknown query parameter \"dryRun\"`},
		{"dry_run=false&dry_run=true", `query parameter \"dry_run\" is given 2 times`},
		{"explain=false&explain=true", `query parameter \"explain\" is given 2 times`},
		{"format=graph&format=crowdstrike", `query parameter \"format\" is given 2 times`},
		{"dry_run=1;", "the query string cannot be parsed"},
		{"dry_run=%zz", "the query string cannot be parsed"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			st := &fakeStarter{}
			got := serve(newTestServer(t, st).Handler(), post("/v1/detections?"+tc.query, "Bearer "+testToken, det("q-1", 5, "")))
			if n := len(st.Starts()); n != 0 {
				t.Errorf("%d run(s) started (live: %v)", n, !st.Starts()[0].Input.DryRun)
			}
			if got.code != http.StatusBadRequest || !strings.Contains(got.body, tc.want) {
				t.Errorf("status %d, want 400 saying %s: %.300s", got.code, tc.want, got.body)
			}
		})
	}
	// The documented parameters still work.
	st := &fakeStarter{}
	got := serve(newTestServer(t, st).Handler(), post("/v1/detections?dry_run=true&format=ocsf", "Bearer "+testToken, det("q-2", 5, "")))
	if got.code != http.StatusAccepted || len(st.Starts()) == 0 || !st.Starts()[0].Input.DryRun {
		t.Errorf("dry_run=true&format=ocsf: status %d: %.300s", got.code, got.body)
	}
}

// A control request with a parameter it does not take (a rollback asked
// as ?dry_run=true expects nothing to be undone) is refused, not run for
// real; a misspelt GET /v1/runs filter (?stauts=failed) is a 400, never a
// list of every run; and a filter given twice is refused, not half applied.
func TestRoutesRefuseQueryParametersTheyDoNotRead(t *testing.T) {
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/v1/runs/w1/rollback?dry_run=true", `POST /v1/runs/{id}/rollback takes no query parameters; got \"dry_run\"`},
		{"POST", "/v1/policy/safe-mode?enabled=false", `POST /v1/policy/safe-mode takes no query parameters; got \"enabled\"`},
		{"GET", "/v1/runs?stauts=failed", `unknown query parameter \"stauts\"; GET /v1/runs takes cursor, kind, limit, mode, outcome, playbook, shadow, status`},
		{"GET", "/v1/runs?status=failed&status=running", `query parameter \"status\" is given 2 times`},
		{"GET", "/v1/runs/w1?runid=x", `unknown query parameter \"runid\"; GET /v1/runs/{id} takes run_id`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			c := &approvalClient{}
			srv := newTestServer(t, &fakeStarter{})
			srv.Temporal = c
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(`{}`))
			r.Header.Set("Authorization", "Bearer "+testToken)
			got := serve(srv.Handler(), r)
			if got.code != http.StatusBadRequest || len(c.queries) != 0 || !strings.Contains(got.body, tc.want) {
				t.Errorf("status %d, %d listing(s); want 400 saying %s: %.300s", got.code, len(c.queries), tc.want, got.body)
			}
		})
	}
}
