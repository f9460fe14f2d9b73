package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/cli"
	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/workflows"
)

// on_timeout: approve "applies only when the approvers were asked and could
// answer until the deadline" (README, Human approval). An approver denies
// 10 s before the deadline while the worker is down (a restart, a rolling
// deploy): the API queues the deny as a signal, sealed by Riposte at that
// time. The worker is back 3 s after the deadline, well inside
// LateTimeoutGrace, and the run reads the deny after the deadline: it must
// count, since Riposte sealed it before the deadline (sealedInTime).
// Before, it was refused as "too late" (checkDeadline judged by the time
// it was read), and the timeout blocked the IP the approver denied.
func TestQueuedDenyBeforeDeadlineIsNotOverriddenByTimeoutApprove(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	if *record {
		dir = recordingDir(t) // the replay guard's key
	}
	h, wid, expires := gateAwaitingURecorder(t, dir, "queued-deny", "queued-deny-1", "203.0.113.98")

	// The worker goes down; the approver denies 10 s before the deadline.
	h.sys.Worker.Stop()
	time.Sleep(time.Until(expires.Add(-10 * time.Second)))
	code, _, b := h.doPrefer("POST", "/v1/runs/"+url.PathEscape(wid)+"/approvals", h.tokenFor("URECORDER"),
		`{"step":"block","decision":"deny","reason":"that IP is our payment provider"}`, "respond-async")
	if code != http.StatusAccepted {
		t.Fatalf("deny: %d %s", code, b)
	}
	if time.Now().After(expires) {
		t.Fatalf("the deny was sent after the deadline %s: the test ran too slowly", expires)
	}

	// The worker is back 3 s after the deadline.
	time.Sleep(time.Until(expires.Add(3 * time.Second)))
	h.startWorker(t)

	d := h.waitRun(wid, time.Minute)
	st := blockStep(t, d)
	if st.Output != nil || st.Status == "succeeded" {
		t.Errorf("URECORDER denied before the deadline, yet the IP was blocked: step %s %q; gate %s decided by %+v; refused votes %+v",
			st.Status, st.Reason, qdGateState(st), qdGateDecision(st), qdGateRefused(st))
	}
	if st.Status != "denied" {
		t.Errorf("step %s %q, want denied by URECORDER", st.Status, st.Reason)
	}
	if *record {
		c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		saveHistory(t, c, wid, d.RunID, *recordPrefix+"queued-deny-e2e")
		copyStore(t, h.dir)
	}
}

func qdGateState(st *workflows.StepResult) string {
	if st.Gate == nil {
		return "(none)"
	}
	return st.Gate.State
}

func qdGateDecision(st *workflows.StepResult) any {
	if st.Gate == nil || st.Gate.Decision == nil {
		return nil
	}
	return *st.Gate.Decision
}

func qdGateRefused(st *workflows.StepResult) any {
	if st.Gate == nil {
		return nil
	}
	return st.Gate.Refused
}

// gateAwaitingURecorder starts riposte dev (data in dir) with the playbook
// e2e-<name>: one step blocking the detection's IP, gated for URECORDER
// with a 25 s timeout and on_timeout: approve. It submits a detection of
// finding uid for ip, waits at the gate and returns the harness, the run's
// workflow id and the gate's deadline.
func gateAwaitingURecorder(t *testing.T, dir, name, uid, ip string) (*devHarness, string, time.Time) {
	t.Helper()
	key := strings.ReplaceAll(name, "-", "_")
	pbDir := t.TempDir()
	pb := fmt.Sprintf(`apiVersion: riposte/v1
name: e2e-%s
version: 1
trigger:
  when: detection.unmapped?.%s == true
steps:
  - id: block
    action: panos.block_ip
    with: {ip: "${{ detection.dst_endpoint.ip }}"}
    approval:
      approvers: {users: [URECORDER]}
      timeout: 25s
      on_timeout: approve
`, name, key)
	if err := os.WriteFile(filepath.Join(pbDir, name+".yaml"), []byte(pb), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startDevForTest(t, dir, func(o *cli.DevOptions) { o.Playbooks = pbDir })
	t.Cleanup(h.sys.Close)
	code, r := h.submit(fmt.Sprintf(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":%q},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":%q},"unmapped":{%q:true}}`, uid, ip, key))
	if code != 202 {
		t.Fatalf("submit: %d %+v", code, r)
	}
	wid := matched(t, r, "e2e-"+name)
	d := h.waitStep(wid, "block", "waiting_approval")
	st := blockStep(t, d)
	if st.Gate == nil {
		t.Fatalf("no gate on block: %+v", d.Steps)
	}
	return h, wid, st.Gate.ExpiresAt
}

// startWorker starts a worker again after h.sys.Worker.Stop().
func (h *devHarness) startWorker(t *testing.T) {
	t.Helper()
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
}

// blockStep is the run's step block.
func blockStep(t *testing.T, d api.RunDetail) *workflows.StepResult {
	t.Helper()
	for i := range d.Steps {
		if d.Steps[i].ID == "block" {
			return &d.Steps[i]
		}
	}
	t.Fatalf("no block step: %+v", d.Steps)
	return nil
}
