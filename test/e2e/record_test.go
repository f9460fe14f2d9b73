package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/cli"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/workflows"
)

var (
	record       = flag.Bool("record", false, "record run histories into workflows/testdata/histories for the replay guard")
	recordPrefix = flag.String("record-prefix", "", "prefix of the recorded files' names, so new recordings keep the old ones (e.g. outcomes-)")
)

// TestRecordHistories runs playbooks on the embedded server and saves their
// histories; workflows' replay test replays them so an interpreter change
// that would break runs in flight fails the build. Run it with -record
// after an intended change to the interpreter's command sequence.
func TestRecordHistories(t *testing.T) {
	if !*record {
		t.Skip("only with -record")
	}
	dir := recordingDir(t)
	h := startDevForTest(t, dir)
	defer h.sys.Close()
	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct{ name, body, approveStep, file, decision, rollback string }{
		{"e2e-contain", detectionJSON("rec-1", 5, ""), "", "", "", ""},
		{"e2e-gated", detectionJSON("rec-2", 5, `,"unmapped":{"gate":true}`), "approve", "", "approve", ""},
		// A denied gate, then always: steps (ChangeOutcomes).
		{"e2e-deny", detectionJSON("rec-3", 5, `,"dst_endpoint":{"ip":"203.0.113.93"},"unmapped":{"deny_case":true}`), "block", "e2e-deny", "deny", ""},
		// A hold ended by a rollback (HoldUntil, SignalRolledBack).
		{"e2e-hold", detectionJSON("rec-4", 5, `,"dst_endpoint":{"ip":"203.0.113.94"},"unmapped":{"hold_case":true}`), "", "e2e-hold-rollback", "", "URECORDER"},
	} {
		code, r := h.submit(tc.body)
		if code != 202 {
			t.Fatalf("%s: submit %d", tc.name, code)
		}
		for _, m := range r.Detections[0].Matched {
			if m.Playbook != tc.name {
				continue
			}
			if tc.approveStep != "" {
				deadline := time.Now().Add(30 * time.Second)
				for {
					code, b := h.do("POST", "/v1/runs/"+url.PathEscape(m.WorkflowID)+"/approvals", h.tokenFor("URECORDER"),
						fmt.Sprintf(`{"step":%q,"decision":%q,"user":"URECORDER","reason":"recording"}`, tc.approveStep, tc.decision))
					if code == 200 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("approve: %d %s", code, b)
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
			var rb api.RollbackResponse
			if tc.rollback != "" {
				h.waitStep(m.WorkflowID, "block", "succeeded")
				time.Sleep(time.Second) // let the run start holding
				code, b := h.do("POST", "/v1/runs/"+url.PathEscape(m.WorkflowID)+"/rollback", h.tokenFor(tc.rollback), fmt.Sprintf(`{"user":%q}`, tc.rollback))
				if code != 202 || json.Unmarshal(b, &rb) != nil {
					t.Fatalf("rollback: %d %s", code, b)
				}
			}
			h.waitRun(m.WorkflowID, time.Minute)
			if rb.RunID != "" {
				// The rollback workflow verifies its input's seal (with the
				// requester's credential) and branches on its own versions
				// when replayed: the guard holds its history too.
				if err := c.GetWorkflow(context.Background(), rb.WorkflowID, rb.RunID).Get(context.Background(), nil); err != nil {
					t.Fatalf("rollback run: %v", err)
				}
				saveHistory(t, c, rb.WorkflowID, rb.RunID, *recordPrefix+"rollback-"+tc.name)
			}
			name := tc.file
			if name == "" {
				name = m.Playbook
			}
			saveHistory(t, c, m.WorkflowID, m.RunID, *recordPrefix+name)
		}
	}
	copyStore(t, dir)
	recordSigned(t, h)
}

func fetchHistory(t *testing.T, c client.Client, wid, rid string) *historypb.History {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), wid, rid, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	return h
}

// historiesDir holds the replay guard's recorded histories.
const historiesDir = "../../workflows/testdata/histories"

// recordingDir returns a dev data dir holding the replay guard's fixed,
// public codec key, so the replay test can decrypt what is recorded.
func recordingDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	keys, err := os.ReadFile("../../workflows/testdata/replay-key/codec-keys.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "codec-keys.json"), keys, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// saveHistory writes a run's history to historiesDir/name.json and
// returns it.
func saveHistory(t *testing.T, c client.Client, wid, rid, name string) []byte {
	t.Helper()
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(fetchHistory(t, c, wid, rid))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(historiesDir, name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	recordID(t, name+".json", wid)
	return b
}

// historyIDs maps a recorded history's file to its workflow id: seals
// cover the workflow id, so the replay test replays under the original id.
const historyIDs = "../../workflows/testdata/history-ids.json"

func recordID(t *testing.T, file, wid string) {
	t.Helper()
	ids := map[string]string{}
	if b, err := os.ReadFile(historyIDs); err == nil {
		if err := json.Unmarshal(b, &ids); err != nil {
			t.Fatal(err)
		}
	}
	ids[file] = wid
	b, err := json.MarshalIndent(ids, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(historyIDs, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// recordSigned records runs whose human decisions arrive as sealed signals
// (the markers sec-signed-decisions and sec-signed-lifecycle in history):
// a vote sent as a decide signal sealed with the decision key, as the
// Slack app's queued path does, and a withdrawal by the intake.
func recordSigned(t *testing.T, h *devHarness) {
	var opts client.Options
	codec.ConfigureClientOptions(&opts, h.sys.Keys, codec.Options{})
	opts.HostPort, opts.Namespace = h.sys.Server.FrontendAddress(), "default"
	c, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dc := codec.NewDataConverter(h.sys.Keys)
	save := func(name string, m dispatch.Match) {
		h.waitRun(m.WorkflowID, time.Minute)
		// The version markers' change ids are payloads (encrypted).
		var changes []string
		for _, e := range fetchHistory(t, c, m.WorkflowID, m.RunID).Events {
			if a := e.GetMarkerRecordedEventAttributes(); a != nil && a.GetDetails()["change-id"] != nil {
				var id string
				if err := dc.FromPayloads(a.GetDetails()["change-id"], &id); err == nil {
					changes = append(changes, id)
				}
			}
		}
		if !slices.ContainsFunc(changes, func(s string) bool { return strings.HasPrefix(s, "sec-signed-") }) {
			t.Fatalf("%s: no signed-decision marker in the history (markers %v)", name, changes)
		}
		saveHistory(t, c, m.WorkflowID, m.RunID, *recordPrefix+name)
	}
	gated := func(uid, extra string) dispatch.Match {
		code, r := h.submit(detectionJSON(uid, 5, `,"unmapped":{"gate":true}`+extra))
		if code != 202 {
			t.Fatalf("%s: submit %d", uid, code)
		}
		for _, m := range r.Detections[0].Matched {
			if m.Playbook == "e2e-gated" {
				h.waitStep(m.WorkflowID, "approve", "waiting_approval")
				return m
			}
		}
		t.Fatalf("%s: e2e-gated did not match", uid)
		return dispatch.Match{}
	}

	m := gated("rec-signal", "")
	d := workflows.Decision{GateID: "approve", Approve: true, User: "URECORDER", Via: workflows.ViaSlack, Reason: "recording"}
	d.Seal = h.sys.DecisionKeys.Sign(workflows.DecisionClaim(m.WorkflowID, d), time.Now())
	if err := c.SignalWorkflow(context.Background(), m.WorkflowID, "", workflows.SignalDecide, d); err != nil {
		t.Fatal(err)
	}
	save("e2e-gated-signal", m)

	m = gated("rec-withdraw", "")
	// The same finding, closed by its producer (activity_id 3): a sealed
	// withdrawal through the intake.
	if code, _ := h.submit(detectionJSON("rec-withdraw", 5, `,"unmapped":{"gate":true},"activity_id":3`)); code >= 300 {
		t.Fatalf("withdrawal: %d", code)
	}
	save("e2e-gated-withdrawn", m)

	// A Close with no run of its finding: a run that runs no step
	// (revision 7), no version marker.
	wid := closeFirst(t, h, "rec-close-first")
	saveHistory(t, c, wid, "", *recordPrefix+"e2e-withdrawn-first")
}

// recordGatedUpdated starts riposte dev for a recording, submits a gated
// detection uid, waits at its approve gate and delivers a finding update
// (higher severity and confidence); the recording tests go on from there.
func recordGatedUpdated(t *testing.T, uid string) (*devHarness, client.Client, dispatch.Match) {
	t.Helper()
	h := startDevForTest(t, recordingDir(t))
	t.Cleanup(h.sys.Close)
	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	code, r := h.submit(detectionJSON(uid, 5, `,"unmapped":{"gate":true}`))
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	m := r.Detections[0].Matched[0]
	for _, mm := range r.Detections[0].Matched {
		if mm.Playbook == "e2e-gated" {
			m = mm
		}
	}
	h.waitStep(m.WorkflowID, "approve", "waiting_approval")
	higher := strings.Replace(detectionJSON(uid, 6, `,"unmapped":{"gate":true},"activity_id":2`), `"confidence_score":90`, `"confidence_score":99`, 1)
	if code, _ := h.submit(higher); code != 200 {
		t.Fatalf("update: %d", code)
	}
	return h, c, m
}

// TestRecordTicketHistory records a run with a containment and a ticket
// (the chaos test's chaos-contain playbook: core.sleep, panos.block_ip,
// core.sleep, jira.create_issue) under -record-prefix, so the replay guard
// holds the ticket as a regular activity (runs before
// workflows.RevLocalRecoverable) and as a local one (from it on).
func TestRecordTicketHistory(t *testing.T) {
	if !*record {
		t.Skip("only with -record")
	}
	dir := recordingDir(t)
	h := startDevForTest(t, dir, func(o *cli.DevOptions) { o.Playbooks, _ = filepath.Abs("testdata/chaos") })
	defer h.sys.Close()
	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	code, r := h.submit(detectionJSON("rec-ticket", 5, `,"dst_endpoint":{"ip":"203.0.113.95"},"unmapped":{"chaos":"contain","pause":"10ms"}`))
	if code != 202 || len(r.Detections[0].Matched) != 1 {
		t.Fatalf("submit: %d %+v", code, r)
	}
	m := r.Detections[0].Matched[0]
	if d := h.waitRun(m.WorkflowID, time.Minute); d.Status != "succeeded" {
		t.Fatalf("run %s: %s", m.WorkflowID, d.Status)
	}
	saveHistory(t, c, m.WorkflowID, m.RunID, *recordPrefix+"chaos-ticket")
	copyStore(t, dir)
}

// TestRecordStaleCloseHistory records (with -record) a gated run started
// by a record later than a Close delivered to it afterwards: the run
// ignores the stale Close (the stale-withdrawal GetVersion marker), then is
// approved, for the replay guard.
func TestRecordStaleCloseHistory(t *testing.T) {
	if !*record {
		t.Skip("only with -record")
	}
	h := startDevForTest(t, recordingDir(t))
	t.Cleanup(h.sys.Close)
	c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	const uid = "rec-stale-close"
	reopened := strings.Replace(detectionJSON(uid, 5, `,"unmapped":{"gate":true}`), `"finding_info":{`, `"finding_info":{"modified_time":1763458997000,`, 1)
	code, r := h.submit(reopened)
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-gated")
	var runID string
	for _, m := range r.Detections[0].Matched {
		if m.WorkflowID == wid {
			runID = m.RunID
		}
	}
	h.waitStep(wid, "approve", "waiting_approval")
	stale := detectionJSON(uid, 5, `,"unmapped":{"gate":true},"status_id":4,"status":"Resolved","activity_id":3`)
	if code, r := h.submit(stale); code >= 300 || !slices.Contains(r.Detections[0].Signalled, wid) {
		t.Fatalf("stale Close: %d %+v", code, r)
	}
	h.approve(wid, "approve", "URECORDER")
	if d := h.waitRun(wid, time.Minute); d.Withdrawn != nil || d.Status != workflows.RunSucceeded {
		t.Fatalf("run after the stale Close: %s, withdrawn %+v; want it approved and done", d.Status, d.Withdrawn)
	}
	saveHistory(t, c, wid, runID, *recordPrefix+"stale-close-e2e-gated")
}

// A run rolled back while a later contain step waits at its gate starts no
// further containment: the gate closes as withdrawn (via rollback), the
// step is skipped, the always: step still runs and nothing more is
// contained. Before, an approval after the rollback contained the host
// with the run shown rolled back. With -record the run's history is saved
// for the replay guard.
func TestRollbackStopsGatedContainmentOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	if *record {
		dir = recordingDir(t)
	}
	h := startDevForTest(t, dir)
	t.Cleanup(h.sys.Close)
	code, r := h.submit(detectionJSON("rollback-gate-1", 5, `,"dst_endpoint":{"ip":"203.0.113.95"},"unmapped":{"rollback_gate":true}`))
	if code != 202 {
		t.Fatalf("submit: %d %+v", code, r)
	}
	wid := matched(t, r, "e2e-rollback-gate")
	var runID string
	for _, m := range r.Detections[0].Matched {
		if m.WorkflowID == wid {
			runID = m.RunID
		}
	}
	h.waitStep(wid, "isolate", "waiting_approval")
	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("URECORDER"), `{"user":"URECORDER"}`)
	var rb api.RollbackResponse
	if code != 202 || json.Unmarshal(b, &rb) != nil {
		t.Fatalf("rollback: %d %s", code, b)
	}
	d := h.waitRun(wid, time.Minute)
	st := map[string]string{}
	for _, s := range d.Steps {
		st[s.ID] = s.Status
		if s.ID == "isolate" && (s.Gate == nil || s.Gate.State != workflows.GateWithdrawn || s.Gate.Decision == nil || s.Gate.Decision.Via != workflows.ViaRollback) {
			t.Errorf("isolate's gate after the rollback: %+v; want withdrawn via rollback", s.Gate)
		}
	}
	if d.Outcome != workflows.OutcomePartiallyContained || !strings.Contains(d.OutcomeDetail, "isolate stopped: run rolled back by URECORDER") {
		t.Errorf("outcome %s (%s); want partially_contained naming isolate stopped by the rollback", d.Outcome, d.OutcomeDetail)
	}
	if st["isolate"] != "skipped" || st["ticket"] != "succeeded" || d.RolledBackBy != "URECORDER" {
		t.Errorf("after the rollback: steps %v, rolled back by %q; want isolate skipped, ticket run, rolled back by URECORDER", st, d.RolledBackBy)
	}
	// The rollback's undo result carries the undo's output: it acted.
	rbd := h.waitRun(rb.WorkflowID, time.Minute)
	if len(rbd.Steps) != 1 || rbd.Steps[0].Status != "succeeded" || rbd.Steps[0].Reason != "" || len(rbd.Undo) != 1 || rbd.Undo[0].Already || rbd.Undo[0].Output == nil {
		t.Errorf("rollback run: steps %+v, undo %+v; want one undo that acted, with its output", rbd.Steps, rbd.Undo)
	}
	// An approval now is refused: the gate is closed.
	code, b = h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/approvals", h.tokenFor("URECORDER"), `{"step":"isolate","decision":"approve","reason":"late"}`)
	if code == 200 {
		t.Errorf("approval after the rollback: %d %s; want it refused", code, b)
	}
	if *record {
		c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		saveHistory(t, c, wid, runID, *recordPrefix+"rollback-stops-e2e-rollback-gate")
		copyStore(t, dir)
	}
}

// copyStore copies the playbook versions of the dev system in dir to the
// replay test's store: runs refer to their playbook by digest, and the
// replay test loads the versions the recorded runs used from that copy.
func copyStore(t *testing.T, dir string) {
	t.Helper()
	store := "../../workflows/testdata/playbook-store"
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "playbook-store", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("the dev playbook store is empty")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(store, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
