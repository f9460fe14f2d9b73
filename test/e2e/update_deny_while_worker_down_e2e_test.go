package e2e

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/cli"
	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/workflows"
)

// The same promise as TestQueuedDenyBeforeDeadlineIsNotOverriddenByTimeoutApprove
// ("on_timeout: approve applies only when the approvers ... could answer
// until the deadline"; "a vote Riposte received and sealed before the
// deadline still counts when the run reads it after"), through the API's
// ordinary path: a plain POST (no Prefer: respond-async). Riposte seals
// the deny 4 s before the deadline and sends it as a Temporal Update,
// waiting up to 10 s for a worker. The worker is down (a restart, a
// rolling deploy) and back 1 s after the deadline, inside those 10 s: the
// Update reaches the run after the deadline. Its validator refused it by
// the time it was read, not by its seal (checkDeadline), so the approver
// was told "the vote came too late" and the timeout blocked the IP they
// denied in time, while the signal path counted the same vote
// (sealedInTime). The validator now applies the same rule
// (sealedBeforeDeadline; validators do not run on replay, so no GetVersion,
// and Update handlers run before the step's coroutine sees the timer).
func TestUpdateDenySealedBeforeDeadlineIsNotRefusedAsLate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	pbDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(pbDir, "update-deny.yaml"), []byte(`apiVersion: riposte/v1
name: e2e-update-deny
version: 1
trigger:
  when: detection.unmapped?.update_deny == true
steps:
  - id: block
    action: panos.block_ip
    with: {ip: "${{ detection.dst_endpoint.ip }}"}
    approval:
      approvers: {users: [URECORDER]}
      timeout: 25s
      on_timeout: approve
`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startDevForTest(t, t.TempDir(), func(o *cli.DevOptions) { o.Playbooks = pbDir })
	t.Cleanup(h.sys.Close)
	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"update-deny-1"},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.97"},"unmapped":{"update_deny":true}}`)
	if code != 202 {
		t.Fatalf("submit: %d %+v", code, r)
	}
	wid := matched(t, r, "e2e-update-deny")
	d := h.waitStep(wid, "block", "waiting_approval")
	var expires time.Time
	for _, st := range d.Steps {
		if st.ID == "block" && st.Gate != nil {
			expires = st.Gate.ExpiresAt
		}
	}
	if expires.IsZero() {
		t.Fatalf("no gate on block: %+v", d.Steps)
	}
	tok := h.tokenFor("URECORDER")

	// The worker goes down; the approver denies 4 s before the deadline,
	// an ordinary request (the API waits for a worker up to 10 s).
	h.sys.Worker.Stop()
	time.Sleep(time.Until(expires.Add(-4 * time.Second)))
	type answer struct {
		code int
		body string
		err  error
	}
	ans := make(chan answer, 1)
	sent := time.Now()
	go func() {
		req, _ := http.NewRequest("POST", h.baseURL+"/v1/runs/"+url.PathEscape(wid)+"/approvals",
			strings.NewReader(`{"step":"block","decision":"deny","reason":"that IP is our payment provider"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			ans <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ans <- answer{code: resp.StatusCode, body: string(b)}
	}()
	if sent.After(expires) {
		t.Fatalf("the deny was sent after the deadline %s: the test ran too slowly", expires)
	}

	// The worker is back 1 s after the deadline.
	time.Sleep(time.Until(expires.Add(time.Second)))
	env := activities.NewEnv(nil)
	env.Connections = h.sys.Lab.Connections()
	w, err := engine.NewWorker(h.sys.Client, engine.WorkerOptions{TaskQueue: h.sys.Temporal.TaskQueue, Env: env, Keys: h.sys.DecisionKeys, Playbooks: h.sys.Playbooks})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	a := <-ans
	if a.err != nil {
		t.Fatalf("deny: %v", a.err)
	}
	d = h.waitRun(wid, time.Minute)
	var st *workflows.StepResult
	for i := range d.Steps {
		if d.Steps[i].ID == "block" {
			st = &d.Steps[i]
		}
	}
	if st == nil {
		t.Fatalf("no block step: %+v", d.Steps)
	}
	if st.Status != "denied" || st.Output != nil {
		t.Errorf("URECORDER denied 4 s before the deadline (sealed then), the API answered %d %s, yet step block is %s %q (gate %s, decided by %+v)",
			a.code, strings.TrimSpace(a.body), st.Status, st.Reason, qdGateState(st), qdGateDecision(st))
	}
}
