package workflows_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// docs/operations.md (412058c): once k1 is retired, "a request sealed with
// it that reaches a run after that time — a vote, ... — is refused as
// forged, whatever date its seal bears", and "a run that took such a
// request before its worker read the new file replays it as it ran
// (sec-retired-key-received is recorded only when a request is refused)".
//
// retiredKey (workflows/signing.go) asks workflow.GetVersion only when
// Keys.Retired refuses. Replaying, the Go SDK answers a GetVersion whose
// change id is not in the history (yet) with DefaultVersion AND keeps that
// answer for the rest of the execution (internal_event_handlers.go
// GetVersion: wc.changeVersions[changeID] = version, also when replaying).
// So once a retirement-aware worker replays a run that took a k1 request
// after the retirement time while the workers were being rolled (here a
// vote by a non-approver, sealed with k1: it passed the key check on the
// old worker and was refused as not an approver), the cached
// DefaultVersion makes retiredKey pass every later k1 request that reaches
// that run live: the leaked key approves the gate and the step runs.
//
// Embedded Temporal server, two workers in turn: the rotation's worker
// without "retired", then the one that read it (cache purged, as a new
// process).
//
// The same holds for the finding signal (a withdrawal with on_withdraw:
// rollback) and the rolled_back signal: all three call retiredKey. The
// Updates (vote, extension, safe mode) and the rollback's input are not
// affected (validators and the rollback's start check do not share a
// replayed answer).
//
// Hence one change id per request, not one per run: retiredKey asks
// GetVersion(ChangeRetiredKeyReceived+"/"+first 16 hex of sha256(seal.MAC))
// when it refuses, so a request taken before its worker knew of the
// retirement replays with DefaultVersion for its own id only, and a later
// request's id is recorded at version 1 when received live.
func TestRetiredKeyRefusedAfterWorkerReplaysEarlierRetiredKeyRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const ns, tq = "retired", "riposte"
	srv, err := devserver.Start(ctx, devserver.Options{Namespace: ns, UIPort: -1, HTTPPort: -1, SearchAttributes: workflows.SearchAttributeTypes()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	k1, k2 := bytes.Repeat([]byte{1}, codec.KeySize), bytes.Repeat([]byte{2}, codec.KeySize)
	keyFile := func(retired string) *signing.Keys {
		f := `{"active": "k2", "keys": {"k1": "` + base64.StdEncoding.EncodeToString(k1) + `", "k2": "` + base64.StdEncoding.EncodeToString(k2) + `"}` + retired + `}`
		ring, err := codec.ParseKeyring([]byte(f), "test key file")
		if err != nil {
			t.Fatal(err)
		}
		return signing.FromCodec(ring)
	}
	ring1, err := codec.NewKeyring("k1", map[string][]byte{"k1": k1})
	if err != nil {
		t.Fatal(err)
	}
	leaked := signing.FromCodec(ring1)
	retiredAt := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)

	startWorker := func(keys *signing.Keys) worker.Worker {
		w := worker.New(c, tq, worker.Options{})
		in := workflows.NewInterpreter(activities.Catalog())
		in.Keys = keys
		workflows.Register(w, in)
		noop := func(_ context.Context, call catalog.Call) (map[string]any, error) { return call.Params, nil }
		w.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: "core.noop"})
		w.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: catalog.CheckedActivity("core.noop")})
		w.RegisterActivityWithOptions(func(_ context.Context, req workflows.GateRequest) (workflows.GateOpened, error) {
			return workflows.GateOpened{Approvers: req.Users, Channel: "CSEC", MessageTS: "1700000000.000001", Posted: true}, nil
		}, activity.RegisterOptions{Name: workflows.ActivityOpenGate})
		w.RegisterActivityWithOptions(func(_ context.Context, _ workflows.GateUpdate) error { return nil }, activity.RegisterOptions{Name: workflows.ActivityUpdateGate})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		return w
	}
	var wid string
	gate := func(ok func(workflows.Gate) bool) workflows.Gate {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			v, err := c.QueryWorkflow(ctx, wid, "", workflows.QueryGates)
			var gates []workflows.Gate
			if err == nil && v.Get(&gates) == nil && len(gates) > 0 && ok(gates[0]) {
				return gates[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("gate: %+v (%v)", gates, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	signal := func(user string) {
		t.Helper()
		d := workflows.Decision{GateID: "isolate", Approve: true, User: user, Reason: "ok", Via: workflows.ViaAPI}
		d.Seal = leaked.Sign(workflows.DecisionClaim(wid, d), time.Now())
		if err := c.SignalWorkflow(ctx, wid, "", workflows.SignalDecide, d); err != nil {
			t.Fatal(err)
		}
	}

	// The control run takes no k1 request before the retirement is read
	// (refused as retired, as TestSignalSealedWithRetiredKeyAfterRetirementRefused
	// shows without a replay); the other takes one.
	for _, earlier := range []bool{false, true} {
		wid = fmt.Sprintf("retired-replay-%v", earlier)
		// The rotation's second roll: workers hold k2 active, k1 not yet
		// retired in the file they read.
		old := startWorker(keyFile(""))
		pb := compileYAML(t, fmt.Sprintf(gatePlaybook, 1, "deny", ""))
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wid, TaskQueue: tq}, workflows.PlaybookWorkflow,
			workflows.Input{Playbook: pb.Playbook, Digest: pb.Digest, Detection: det}); err != nil {
			t.Fatal(err)
		}
		gate(func(g workflows.Gate) bool { return g.State == workflows.GatePending })
		// Whoever holds k1 probes the run while the workers roll: refused,
		// but as not an approver (the old worker knows no retirement).
		want := 1
		if earlier {
			signal("UMALLORY")
			gate(func(g workflows.Gate) bool { return len(g.Refused) == 1 })
			want = 2
		}
		old.Stop()
		worker.PurgeStickyWorkflowCache()

		// The workers that read "retired": {"k1": ...}.
		w := startWorker(keyFile(`, "retired": {"k1": "` + retiredAt.Format(time.RFC3339) + `"}`))
		signal("UALICE")
		g := gate(func(g workflows.Gate) bool { return len(g.Refused) == want || g.State != workflows.GatePending })
		if g.State != workflows.GatePending || len(g.Refused) != want || !strings.Contains(g.Refused[want-1].Refusal, "retired") {
			t.Errorf("earlier k1 request %v: gate %s, votes %+v, refused %+v: an approval sealed with k1 (retired at %s) reached the run on a worker that read the retirement and was not refused as retired",
				earlier, g.State, g.Votes, g.Refused, retiredAt.Format(time.RFC3339))
		}
		w.Stop()
		worker.PurgeStickyWorkflowCache()
	}
}
