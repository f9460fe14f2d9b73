package security

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/cli"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// The shared dev token decides only as the person it is bound to
// (RIPOSTE_USER): unbound it is refused (403), bound to someone the gate
// does not name it is refused (409) with a detail that says how to bind it,
// and bound to one of the gate's approvers its vote counts, as that person.
func TestDevTokenBinding(t *testing.T) {
	if testing.Short() {
		t.Skip("starts riposte dev (embedded Temporal) three times")
	}
	t.Setenv("RIPOSTE_API_TOKEN", "")
	for _, k := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", codec.EnvKeyFile, codec.EnvKeys, signing.EnvKeyFile, signing.EnvKeys, "RIPOSTE_TOKENS_FILE"} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	pb, _ := filepath.Abs("testdata")
	start := func(user string) *env {
		t.Setenv("RIPOSTE_USER", user)
		logs := &syncBuffer{}
		dev, err := cli.StartTestDev(context.Background(), dir, pb, slog.New(slog.NewTextHandler(logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return &env{t: t, dev: dev, logs: logs, toks: map[string]string{"reader": dev.Token()}}
	}

	// Unbound: the dev token submits (as riposte-dev-token) but cannot decide.
	e := start("")
	det := `{"class_uid":2004,"time":1763458937000,"severity_id":5,"finding_info":{"uid":"devtok-1","title":"x"},` +
		`"metadata":{"product":{"name":"Sentinel-LLM Triage"}},"device":{"hostname":"fin-ws-043"},"unmapped":{"sec":true}}`
	code, b := e.do("POST", "/v1/detections", e.dev.Token(), "application/json", det)
	if code != 202 {
		t.Fatalf("submit: %d %s", code, b)
	}
	var resp api.DetectionsResponse
	_ = json.Unmarshal([]byte(b), &resp)
	e.wid = resp.Detections[0].Matched[0].WorkflowID
	deadline := time.Now().Add(time.Minute)
	for e.gate().State != workflows.GatePending {
		if time.Now().After(deadline) {
			t.Fatalf("gate never opened")
		}
		time.Sleep(200 * time.Millisecond)
	}
	approvals := "/v1/runs/" + url.PathEscape(e.wid) + "/approvals"
	const approve = `{"step":"isolate","decision":"approve","reason":"trying it out"}`
	m := e.mark()
	code, b = e.do("POST", approvals, e.dev.Token(), "application/json", approve)
	if code != 403 || !strings.Contains(b, "RIPOSTE_USER=") {
		t.Errorf("unbound dev token: %d %s, want 403 naming RIPOSTE_USER", code, b)
	}
	e.unchanged("unbound dev token")
	e.audited("unbound dev token", m, "audit: api call refused", e.dev.Token(), "refused: token bound to no identity", "status=403")
	e.dev.Close()

	// Bound to a person the gate does not name: 409, and the detail says
	// exactly how to bind it.
	e = start("U0SOLODEV1")
	e.wid = resp.Detections[0].Matched[0].WorkflowID
	m = e.mark()
	code, b = e.do("POST", approvals, e.dev.Token(), "application/json", approve)
	var p struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal([]byte(b), &p)
	if code != 409 || p.Status != 409 {
		t.Errorf("dev token bound to a non-approver: %d %s, want 409", code, b)
	}
	for _, want := range []string{"U0SOLODEV1 is not an approver for step isolate", "bound to U0SOLODEV1", "RIPOSTE_USER=<their Slack user id> riposte dev", "riposte tokens create --user"} {
		if !strings.Contains(p.Detail, want) {
			t.Errorf("409 detail %q does not say %q", p.Detail, want)
		}
	}
	e.unchanged("dev token bound to a non-approver")
	e.audited("dev token bound to a non-approver", m, "audit: api call refused", e.dev.Token(), "decision refused: U0SOLODEV1 is not an approver", "status=409")
	e.audited("dev token bound to a non-approver (worker)", m, "audit: decision update refused", "", "U0SOLODEV1 is not an approver", "user=U0SOLODEV1")
	e.dev.Close()

	// Bound to an approver: the vote counts, under that identity, via the API.
	e = start("U0SOCLEAD1")
	defer e.dev.Close()
	e.wid = resp.Detections[0].Matched[0].WorkflowID
	if code, b := e.do("POST", approvals, e.dev.Token(), "application/json", approve); code != 200 {
		t.Fatalf("dev token bound to an approver: %d %s", code, b)
	}
	g := e.gate()
	if g.State != workflows.GatePending || len(g.Votes) != 1 || g.Votes[0].User != "U0SOCLEAD1" || g.Votes[0].Via != workflows.ViaAPI || !g.Votes[0].Approve {
		t.Errorf("gate after the bound dev token's vote (quorum 2): %+v", g)
	}
	// One person is one vote: the same bound token cannot vote twice.
	m = e.mark()
	if code, b := e.do("POST", approvals, e.dev.Token(), "application/json", approve); code == 200 {
		if g := e.gate(); len(g.Votes) != 1 {
			t.Errorf("second vote of the same person counted: %s %+v", b, g.Votes)
		}
	} else {
		e.audited("second vote of the same person", m, "audit: api call refused", e.dev.Token(), "U0SOCLEAD1 has already voted")
	}
}
