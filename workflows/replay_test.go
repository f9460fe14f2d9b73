package workflows_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/pbstore"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// histories are recorded runs of real playbooks on the embedded server
// (go test ./test/e2e -run TestRecordHistories -record).
func histories(t *testing.T) []string {
	files, err := filepath.Glob("testdata/histories/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories under testdata/histories: %v", err)
	}
	return files
}

// TestReplayRecordedHistories is the replay guard: a change to the
// interpreter that would break runs in flight fails here.
func TestReplayRecordedHistories(t *testing.T) {
	for _, f := range histories(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := replayer(t)
			in := workflows.NewInterpreter(activities.Catalog())
			in.Store = recordedStore(t)
			// The decision key the recordings were sealed with: derived
			// from the public test codec key, as riposte dev does.
			in.Keys = signing.FromCodec(replayKeys(t))
			workflows.Register(r, in)
			if err := replay(t, r, f); err != nil {
				t.Fatalf("replaying %s: %v", f, err)
			}
		})
	}
}

// TestReplayCatchesChangedInterpreter proves the guard works: an
// interpreter whose command sequence differs (here it starts with a timer)
// must fail to replay every recorded history.
func TestReplayCatchesChangedInterpreter(t *testing.T) {
	in := workflows.NewInterpreter(activities.Catalog())
	in.Store = recordedStore(t)
	changed := func(ctx workflow.Context, input workflows.Input) (*workflows.Result, error) {
		_ = workflow.Sleep(ctx, time.Second)
		return in.Run(ctx, input)
	}
	for _, f := range histories(t) {
		r := replayer(t)
		r.RegisterWorkflowWithOptions(changed, workflow.RegisterOptions{Name: workflows.PlaybookWorkflow})
		r.RegisterDynamicWorkflow(func(ctx workflow.Context, args converter.EncodedValues) (*workflows.Result, error) {
			var input workflows.Input
			if err := args.Get(&input); err != nil {
				return nil, err
			}
			return changed(ctx, input)
		}, workflow.DynamicRegisterOptions{})
		err := r.ReplayWorkflowHistoryFromJSONFile(nil, f)
		if err == nil || !(strings.Contains(err.Error(), "TMPRL1100") || strings.Contains(strings.ToLower(err.Error()), "nondetermin")) {
			t.Errorf("%s: changed interpreter replayed without a nondeterminism error: %v", f, err)
		}
	}
}

// recordedStore holds the playbook versions the recorded runs started by
// reference used (copied from riposte dev's store when they were recorded).
func recordedStore(t *testing.T) *pbstore.Store {
	t.Helper()
	s, err := pbstore.New(activities.Catalog(), pbstore.Options{Dir: "testdata/playbook-store"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// replay replays the history in file f under the workflow id it was
// recorded with (testdata/history-ids.json; seals cover the id), or the
// replayer's default id for recordings from before seals.
func replay(t *testing.T, r worker.WorkflowReplayer, f string) error {
	t.Helper()
	ids := map[string]string{}
	if b, err := os.ReadFile("testdata/history-ids.json"); err == nil {
		if err := json.Unmarshal(b, &ids); err != nil {
			t.Fatalf("testdata/history-ids.json: %v", err)
		}
	}
	id, ok := ids[filepath.Base(f)]
	if !ok {
		return r.ReplayWorkflowHistoryFromJSONFile(nil, f)
	}
	return r.ReplayWorkflowHistoryWithOptions(nil, recordedHistory(t, f), worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: id}})
}

// replayKeys is the public test key the recordings were encrypted with.
func replayKeys(t *testing.T) *codec.Keyring {
	t.Helper()
	k, err := codec.LoadKeyring("testdata/replay-key/codec-keys.json")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// replayer decrypts the recorded payloads with the public test key.
func replayer(t *testing.T) worker.WorkflowReplayer {
	t.Helper()
	dc := codec.NewDataConverter(replayKeys(t))
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc, FailureConverter: codec.NewFailureConverter(dc)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReplayGuardHoldsBothShapes: the recorded histories include runs that
// carry their playbook inline (started before runs referred to it) and
// runs that carry a reference, so both keep replaying.
func TestReplayGuardHoldsBothShapes(t *testing.T) {
	k, err := codec.LoadKeyring("testdata/replay-key/codec-keys.json")
	if err != nil {
		t.Fatal(err)
	}
	dc := codec.NewDataConverter(k)
	var inline, byRef int
	for _, f := range histories(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h, err := client.HistoryFromJSON(bytes.NewReader(b), client.HistoryJSONOptions{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		attrs := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
		if attrs == nil || !workflows.IsPlaybookWorkflowType(attrs.GetWorkflowType().GetName()) {
			continue
		}
		var in workflows.Input
		if err := dc.FromPayload(attrs.GetInput().GetPayloads()[0], &in); err != nil {
			t.Fatalf("%s: decoding the input: %v", f, err)
		}
		switch {
		case in.PlaybookRef != nil && in.Playbook == nil:
			byRef++
		case in.Playbook != nil:
			inline++
		}
	}
	if inline == 0 || byRef == 0 {
		t.Errorf("recorded histories: %d with the playbook inline, %d by reference; the guard needs both", inline, byRef)
	}
}

// The signed recordings exercise the seal checks on replay: with another
// decision key the recorded vote, withdrawal and rollback mark are refused
// and the replay diverges, so a change that stops verifying (or verifies
// differently) cannot pass unnoticed.
func TestReplaySignedHistoriesVerifySeals(t *testing.T) {
	other, err := signing.NewKeys("dev", map[string][]byte{"dev": []byte("not the key the runs were sealed")})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"testdata/histories/signed-e2e-gated-signal.json", "testdata/histories/signed-e2e-gated-withdrawn.json", "testdata/histories/signed-e2e-hold-rollback.json"} {
		r := replayer(t)
		in := workflows.NewInterpreter(activities.Catalog())
		in.Store = recordedStore(t)
		in.Keys = other
		workflows.Register(r, in)
		if err := replay(t, r, f); err == nil {
			t.Errorf("%s replayed with another decision key: its seal was not checked", f)
		}
	}
}
