package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestNewLoggerJSONWithContext(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(&buf, "json", "debug")
	if err != nil {
		t.Fatal(err)
	}
	tid, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	sid, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	ctx = ContextWithActivity(ctx, ActivityFields{WorkflowID: "wf-1", RunID: "run-1", Step: "isolate", Index: 2, Action: "crowdstrike.contain_host", Attempt: 1})
	l.With("component", "worker").DebugContext(ctx, "calling vendor", "host", "fin-ws-042")

	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	want := map[string]any{
		"msg": "calling vendor", "level": "DEBUG", "component": "worker", "host": "fin-ws-042",
		"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331",
		"workflow_id": "wf-1", "run_id": "run-1", "step": "isolate", "index": float64(2), "action": "crowdstrike.contain_host",
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %v, want %v (record %v)", k, rec[k], v, rec)
		}
	}

	// Without a context nothing is added; levels filter.
	buf.Reset()
	l2, _ := NewLogger(&buf, "", "warn")
	l2.Info("hidden")
	l2.Warn("shown")
	out := buf.String()
	if strings.Contains(out, "hidden") || !strings.Contains(out, "msg=shown") || strings.Contains(out, "trace_id") {
		t.Errorf("text logger output %q", out)
	}
}

func TestNewLoggerRejectsBadInput(t *testing.T) {
	if _, err := NewLogger(&bytes.Buffer{}, "xml", "info"); err == nil {
		t.Error("format xml accepted")
	}
	if _, err := NewLogger(&bytes.Buffer{}, "text", "loud"); err == nil {
		t.Error("level loud accepted")
	}
	if lv, err := ParseLevel(""); err != nil || lv.String() != "INFO" {
		t.Errorf("ParseLevel(\"\") = %v %v", lv, err)
	}
}

func TestContextHandlerIdempotent(t *testing.T) {
	var buf bytes.Buffer
	l, _ := NewLogger(&buf, "text", "info")
	h := NewContextHandler(l.Handler())
	if h != l.Handler() {
		t.Error("wrapping twice")
	}
	if _, ok := ActivityFromContext(context.Background()); ok {
		t.Error("fields in an empty context")
	}
}
