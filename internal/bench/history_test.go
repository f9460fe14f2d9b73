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
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

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

// TestSampleHistoriesPayloads: bytes per run split into payloads (inputs,
// results, summaries) and search attribute values, averaged over the runs.
func TestSampleHistoriesPayloads(t *testing.T) {
	dc := converter.GetDefaultDataConverter()
	input, _ := dc.ToPayload(map[string]string{"detection": "rec-1"})
	summary, _ := dc.ToPayload("enrich")
	status, _ := dc.ToPayload("running")
	events := []*historypb.HistoryEvent{{
		EventId:      1,
		EventType:    enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		UserMetadata: &sdkpb.UserMetadata{Summary: summary},
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
			Input:            &commonpb.Payloads{Payloads: []*commonpb.Payload{input}},
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"RunStatus": status}},
		}},
	}, {EventId: 2, EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}}
	st := sampleHistories(context.Background(), fakeSampler{events}, "riposte", []string{"a", "b"}, 2)
	if st.Err != "" || st.Runs != 2 || st.Events != 2 {
		t.Fatalf("%+v", st)
	}
	if want := float64(proto.Size(input) + proto.Size(summary)); st.Payloads != 2 || st.PayloadBytes != want {
		t.Errorf("payloads %.1f (%.0f B), want 2 (%.0f B)", st.Payloads, st.PayloadBytes, want)
	}
	if want := float64(proto.Size(status)); st.SearchAttrBytes != want {
		t.Errorf("search attribute bytes %.0f, want %.0f", st.SearchAttrBytes, want)
	}
	if st.Bytes <= st.PayloadBytes+st.SearchAttrBytes {
		t.Errorf("bytes %.0f should exceed payloads and search attributes (%.0f + %.0f): the events' own fields", st.Bytes, st.PayloadBytes, st.SearchAttrBytes)
	}
}

// TestSampleHistoriesDefaultIdentity: bytes per run are also given with
// every identity (the starter's and the worker's, at any depth) cut to the
// SDK's default "pid@host@" form, so a baseline that runs on Riposte's
// worker is not billed for Riposte's capability markers.
func TestSampleHistoriesDefaultIdentity(t *testing.T) {
	long := "42@vm@riposte riposte:codec/2 riposte:seal/credential riposte:rev/9 riposte:playbook-ref/1"
	short := "42@vm@" // the SDK default: no task queue, no markers
	mk := func(id string) []*historypb.HistoryEvent {
		return []*historypb.HistoryEvent{{
			EventId:   1,
			EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
			Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
				Identity: "7@api@",
			}},
		}, {
			EventId:   2,
			EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
			Attributes: &historypb.HistoryEvent_WorkflowTaskCompletedEventAttributes{WorkflowTaskCompletedEventAttributes: &historypb.WorkflowTaskCompletedEventAttributes{
				Identity: id,
			}},
		}, {
			EventId:   3,
			EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED,
			Attributes: &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{
				Identity: id, RequestId: "r-1",
			}},
		}}
	}
	longEvents, shortEvents := mk(long), mk(short)
	st := sampleHistories(context.Background(), fakeSampler{longEvents}, "baseline", []string{"a"}, 1)
	want := 0
	for _, ev := range shortEvents {
		want += proto.Size(ev)
	}
	if st.Err != "" || st.BytesDefaultIdentity != float64(want) {
		t.Fatalf("bytes at the default identity %.0f, want %d (%+v)", st.BytesDefaultIdentity, want, st)
	}
	if st.Bytes-st.BytesDefaultIdentity != float64(2*(len(long)-len(short))) {
		t.Errorf("bytes %.0f - %.0f should be the markers twice (%d B)", st.Bytes, st.BytesDefaultIdentity, 2*(len(long)-len(short)))
	}
	if got := longEvents[1].GetWorkflowTaskCompletedEventAttributes().GetIdentity(); got != long {
		t.Errorf("the history read was changed: identity %q", got)
	}
}

// The SDK's default identity of a hand-written deployment's worker is
// the client's, "pid@host@" (go.temporal.io/sdk v1.50.0:
// internal/client.go sets options.Identity = getWorkerIdentity(""), and
// internal_worker.go gives a worker the client's identity when its own
// options name none). Riposte's worker puts its task queue after it
// ("pid@host@riposte", engine.NewWorker): cut only before the first space,
// the baseline's identity kept "riposte" in each of its 17 task events
// per run, billed to the baseline in the row said to be "pid@host@". The
// cut identity is the SDK's default form.
func TestDefaultIdentityIsTheSDKs(t *testing.T) {
	for in, want := range map[string]string{
		"42@vm@riposte riposte:caps/5:rev/9": "42@vm@",
		"42@vm@riposte":                      "42@vm@",
		"7@api@":                             "7@api@",
		"hand-written":                       "hand-written",
	} {
		if got := defaultIdentity(in); got != want {
			t.Errorf("defaultIdentity(%q) = %q, want %q", in, got, want)
		}
	}
}
