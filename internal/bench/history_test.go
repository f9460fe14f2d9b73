package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riposte-dev/riposte/internal/codec"
)

type fakeIterator struct{ events []*historypb.HistoryEvent }

func (f *fakeIterator) HasNext() bool { return len(f.events) > 0 }
func (f *fakeIterator) Next() (*historypb.HistoryEvent, error) {
	ev := f.events[0]
	f.events = f.events[1:]
	return ev, nil
}

type fakeSampler struct{ events []*historypb.HistoryEvent }

func (f fakeSampler) GetWorkflowHistory(context.Context, string, string, bool, enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	return &fakeIterator{events: append([]*historypb.HistoryEvent(nil), f.events...)}
}

// TestDumpHistory: the dump decrypts each payload with the keyring and
// reports its stored and plaintext sizes beside the event that holds it.
func TestDumpHistory(t *testing.T) {
	keys, err := codec.NewKeyring("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"detection": "rec-1"})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := codec.NewCodec(keys).Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	events := []*historypb.HistoryEvent{{
		EventId:   1,
		EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
			Input: &commonpb.Payloads{Payloads: sealed},
		}},
	}}
	dir := t.TempDir()
	if err := dumpHistory(context.Background(), fakeSampler{events}, keys, dir, "riposte", "wf-1"); err != nil {
		t.Fatal(err)
	}
	table, err := os.ReadFile(filepath.Join(dir, "riposte.payloads.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 WorkflowExecutionStarted: ", `/ 21 B json/plain "{\"detection\":\"rec-1\"}"`} {
		if !strings.Contains(string(table), want) {
			t.Errorf("payload table lacks %q:\n%s", want, table)
		}
	}
	js, err := os.ReadFile(filepath.Join(dir, "riposte.history.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED") || strings.Contains(string(js), "rec-1") {
		t.Errorf("history file should hold the event as stored (encrypted):\n%s", js)
	}
}
