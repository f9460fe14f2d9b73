package workflows_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/pbstore"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// A run started by reference that a worker without its version replays
// (a run parked at a gate, picked up after a restart by a worker whose
// store lost the version) is not ended: its workflow task fails, saying
// which version is missing and where to put it back, and is retried until
// a worker that has it takes the run. Ending the run (or a nondeterminism
// error that names no version) would lose a run a human may be deciding.
func TestReplayWithoutTheVersionWaits(t *testing.T) {
	empty, err := pbstore.New(activities.Catalog(), pbstore.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range histories(t) {
		if !byReference(t, f) {
			continue
		}
		n++
		t.Run(f, func(t *testing.T) {
			r := replayer(t)
			in := workflows.NewInterpreter(activities.Catalog())
			in.Store = empty
			in.Keys = signing.FromCodec(replayKeys(t))
			workflows.Register(r, in)
			err := replay(t, r, f)
			if err == nil {
				t.Fatal("replayed without its playbook version")
			}
			for _, want := range []string{"is not available to this worker", "RIPOSTE_PLAYBOOK_STORE"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("replay error lacks %q: %.300s", want, err)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no recorded run by reference")
	}
}

// byReference reports whether the recorded history f is a playbook run
// started by reference.
func byReference(t *testing.T, f string) bool {
	t.Helper()
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
		return false
	}
	var in workflows.Input
	if err := codec.NewDataConverter(replayKeys(t)).FromPayload(attrs.GetInput().GetPayloads()[0], &in); err != nil {
		t.Fatalf("%s: decoding the input: %v", f, err)
	}
	return in.PlaybookRef != nil
}
