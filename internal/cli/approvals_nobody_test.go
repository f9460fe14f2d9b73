package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// riposte approvals says "anyone" only for a gate that names no approver
// (anyone but the requester may decide). A gate naming user groups that
// resolved to nobody (empty groups, or no Slack to resolve them) has no
// approver either, but nobody may decide it (the run refuses every vote:
// "no approver could be resolved"); it was listed as "anyone".
func TestApprovalsListsUnresolvedGroupsAsNobody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"approvals":[
{"workflow_id":"wf-groups","run_id":"r1","gate":{"id":"isolate","step_id":"isolate","state":"pending","why":"the step has an approval block","approvers":[],"groups":["S0EMPTY01"],"quorum":1,"expires_at":"2099-01-01T00:00:00Z","action":"crowdstrike.contain_host"}},
{"workflow_id":"wf-open","run_id":"r2","gate":{"id":"block","step_id":"block","state":"pending","why":"the step has an approval block","approvers":[],"quorum":1,"expires_at":"2099-01-01T00:00:00Z","action":"panos.block_ip"}}
]}`)
	}))
	defer srv.Close()
	code, out, errOut := runCLI(t, "approvals", "--api", srv.URL, "--token", "rpt_test")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "wf-groups"):
			if strings.Contains(line, "anyone") || !strings.Contains(line, "nobody") || !strings.Contains(line, "S0EMPTY01") {
				t.Errorf("gate whose groups resolved to nobody: %q, want it to say nobody (groups S0EMPTY01), not anyone", line)
			}
		case strings.HasPrefix(line, "wf-open"):
			if !strings.Contains(line, "anyone") {
				t.Errorf("gate naming no approver: %q, want anyone", line)
			}
		}
	}
}
