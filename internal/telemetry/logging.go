package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// Log formats accepted by NewLogger.
const (
	LogText = "text"
	LogJSON = "json"
)

// NewLogger returns the process logger writing to w in format (text or
// json; "" = text) at level (debug, info, warn, error; "" = info). Records
// logged with a context (InfoContext, ...) get trace_id and span_id when the
// context carries a span, and workflow_id, run_id, step, index and action
// inside activities (see ContextWithActivity).
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	lv, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", LogText:
		h = slog.NewTextHandler(w, opts)
	case LogJSON:
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: use text or json", format)
	}
	return slog.New(NewContextHandler(h)), nil
}

// ParseLevel parses debug, info, warn or error ("" = info; slog's forms
// such as "warn+2" work too).
func ParseLevel(level string) (slog.Level, error) {
	var lv slog.Level
	if strings.TrimSpace(level) == "" {
		return slog.LevelInfo, nil
	}
	if err := lv.UnmarshalText([]byte(strings.TrimSpace(level))); err != nil {
		return slog.LevelInfo, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	return lv, nil
}

// ActivityFields identify the activity (and playbook step) a context
// belongs to.
type ActivityFields struct {
	WorkflowID string
	RunID      string
	Step       string
	Index      int // for_each iteration, -1 when none
	Action     string
	Attempt    int
}

type activityKey struct{}

// ContextWithActivity returns ctx carrying f; the worker interceptor calls
// it for every activity.
func ContextWithActivity(ctx context.Context, f ActivityFields) context.Context {
	return context.WithValue(ctx, activityKey{}, f)
}

// ActivityFromContext returns the fields ContextWithActivity stored.
func ActivityFromContext(ctx context.Context) (ActivityFields, bool) {
	if ctx == nil {
		return ActivityFields{}, false
	}
	f, ok := ctx.Value(activityKey{}).(ActivityFields)
	return f, ok
}

// NewContextHandler wraps h so that records logged with a context get the
// trace and activity fields found in it.
func NewContextHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(*contextHandler); ok {
		return h
	}
	return &contextHandler{next: h}
}

type contextHandler struct {
	next slog.Handler
}

func (h *contextHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
		}
		if f, ok := ActivityFromContext(ctx); ok {
			r.AddAttrs(slog.String("workflow_id", f.WorkflowID), slog.String("run_id", f.RunID))
			if f.Step != "" {
				r.AddAttrs(slog.String("step", f.Step))
				if f.Index >= 0 {
					r.AddAttrs(slog.Int("index", f.Index))
				}
			}
			if f.Action != "" {
				r.AddAttrs(slog.String("action", f.Action))
			}
		}
	}
	return h.next.Handle(ctx, r)
}

func (h *contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &contextHandler{next: h.next.WithAttrs(attrs)}
}

func (h *contextHandler) WithGroup(name string) slog.Handler {
	return &contextHandler{next: h.next.WithGroup(name)}
}
