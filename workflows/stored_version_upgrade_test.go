package workflows_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/pbstore"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// A run in flight during an upgrade refers to its playbook version by
// digest; the new worker loads that version from the store and replays the
// run with it. Releases tightened validation (7f45705: approvers must be
// Slack ids, each once; 8ad31a1: an expression written empty; fc4a7b4: an
// empty action), so a version the previous release validated, stored and
// started runs with may be refused by the new parser. The run must still
// finish on the new worker as it started (operations.md: "Runs started by
// the previous release finish on the new one"): the version is already
// the run's, and a worker that refuses it wedges the run (its workflow task
// fails on every attempt), so a contain_for hold is never released and a
// gate never follows its timeout.
func TestRunInFlightKeepsStoredVersionValidatedByPreviousRelease(t *testing.T) {
	for _, tc := range []struct {
		history, from, to, why string
	}{
		{
			history: "testdata/histories/s22-e2e-hold-rollback.json",
			from:    "    contain_for: 2h\n",
			to:      "    contain_for: 2h\n    if: ''\n",
			why:     "an empty if (no condition before 8ad31a1)",
		},
		{
			history: "testdata/histories/s22-e2e-gated.json",
			from:    "approvers: {users: [URECORDER, UOTHER]}",
			to:      "approvers: {users: [URECORDER, UOTHER, secops-lead@example.com]}",
			why:     "an approver written as an email (accepted before 7f45705)",
		},
		{
			history: "testdata/histories/s22-e2e-gated.json",
			from:    "approvers: {users: [URECORDER, UOTHER]}",
			to:      "approvers: {users: [URECORDER, UOTHER, UOTHER]}",
			why:     "an approver listed twice (accepted before 7f45705)",
		},
	} {
		t.Run(tc.why, func(t *testing.T) {
			h := recordedHistory(t, tc.history)
			dc := codec.NewDataConverter(replayKeys(t))
			attrs := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
			var in workflows.Input
			if err := dc.FromPayload(attrs.GetInput().GetPayloads()[0], &in); err != nil {
				t.Fatal(err)
			}
			orig, err := os.ReadFile(filepath.Join("testdata/playbook-store", in.PlaybookRef.Digest+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(orig), tc.from) {
				t.Fatalf("%s has no %q", in.PlaybookRef.Digest, tc.from)
			}
			// The version as the previous release stored it.
			src := []byte(strings.Replace(string(orig), tc.from, tc.to, 1))
			digest := playbook.Digest(src)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, digest+".yaml"), src, 0o600); err != nil {
				t.Fatal(err)
			}
			in.PlaybookRef.Digest = digest
			p, err := dc.ToPayload(in)
			if err != nil {
				t.Fatal(err)
			}
			attrs.GetInput().GetPayloads()[0] = p

			store, err := pbstore.New(activities.Catalog(), pbstore.Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			r := replayer(t)
			interp := workflows.NewInterpreter(activities.Catalog())
			interp.Store = store
			interp.Keys = signing.FromCodec(replayKeys(t))
			workflows.Register(r, interp)
			ids := map[string]string{}
			b, _ := os.ReadFile("testdata/history-ids.json")
			_ = json.Unmarshal(b, &ids)
			err = r.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: ids[filepath.Base(tc.history)]}})
			if err != nil {
				t.Fatalf("a run in flight whose stored version has %s does not replay on this worker: %v", tc.why, err)
			}
		})
	}
}
