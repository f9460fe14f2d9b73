package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"

	sdklog "go.temporal.io/sdk/log"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger adapts a *slog.Logger to the Temporal server's log.Logger
// interface. Records below level are dropped before any tag conversion, which
// matters because the server logs a lot at info/debug level.
//
// The stock zap logger exits the process on Fatal; here Fatal is logged as an
// error instead, except while the server is being constructed and started
// (panicOnFatal set): then it panics with a fatalError, which Start recovers
// and returns as an error. That is how a listener that cannot be bound during
// startup becomes an error instead of a crash.
type serverLogger struct {
	log          *slog.Logger
	level        slog.Leveler
	tags         []slog.Attr
	panicOnFatal *atomic.Bool
	// expected are the starts of messages this configuration causes on
	// purpose, logged at debug level instead of the server's: a warning on
	// every start about a choice the operator made teaches them to ignore
	// warnings. Prefixes, since the server appends instructions and links
	// that change between releases.
	expected []string
}

// httpOffWarning starts what the frontend says on every start without its
// HTTP API, which riposte dev turns off unless --temporal-http-port asks.
const httpOffWarning = "HTTP API port has not been set."

// fatalError is the panic value of serverLogger.Fatal during startup.
type fatalError struct{ msg string }

func (e fatalError) Error() string { return e.msg }

var (
	_ tlog.Logger     = (*serverLogger)(nil)
	_ tlog.WithLogger = (*serverLogger)(nil)
)

func newServerLogger(l *slog.Logger, level slog.Leveler) *serverLogger {
	return &serverLogger{log: l.With("component", "temporal-server"), level: level, panicOnFatal: new(atomic.Bool)}
}

func (s *serverLogger) Debug(msg string, tags ...tag.Tag) { s.emit(slog.LevelDebug, msg, tags) }
func (s *serverLogger) Info(msg string, tags ...tag.Tag)  { s.emit(slog.LevelInfo, msg, tags) }
func (s *serverLogger) Warn(msg string, tags ...tag.Tag)  { s.emit(slog.LevelWarn, msg, tags) }
func (s *serverLogger) Error(msg string, tags ...tag.Tag) { s.emit(slog.LevelError, msg, tags) }

// DPanic and Panic are logged as errors: an embedded server must not take the
// host process down.
func (s *serverLogger) DPanic(msg string, tags ...tag.Tag) { s.emit(slog.LevelError, msg, tags) }
func (s *serverLogger) Panic(msg string, tags ...tag.Tag)  { s.emit(slog.LevelError, msg, tags) }

// Fatal logs an error, and panics with a fatalError during startup.
func (s *serverLogger) Fatal(msg string, tags ...tag.Tag) {
	s.emit(slog.LevelError, msg, tags)
	if s.panicOnFatal.Load() {
		all := append(append([]slog.Attr(nil), s.tags...), tagsToAttrs(tags)...)
		for _, a := range all {
			msg += fmt.Sprintf(" %s=%v", a.Key, a.Value)
		}
		panic(fatalError{msg: msg})
	}
}

// With implements log.WithLogger.
func (s *serverLogger) With(tags ...tag.Tag) tlog.Logger {
	attrs := make([]slog.Attr, 0, len(s.tags)+len(tags))
	attrs = append(attrs, s.tags...)
	attrs = append(attrs, tagsToAttrs(tags)...)
	return &serverLogger{log: s.log, level: s.level, tags: attrs, panicOnFatal: s.panicOnFatal, expected: s.expected}
}

func (s *serverLogger) enabled(level slog.Level) bool {
	return level >= s.level.Level() && s.log.Enabled(context.Background(), level)
}

func (s *serverLogger) emit(level slog.Level, msg string, tags []tag.Tag) {
	if level < slog.LevelError && slices.ContainsFunc(s.expected, func(p string) bool { return strings.HasPrefix(msg, p) }) {
		level = slog.LevelDebug
	}
	if !s.enabled(level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(s.tags)+len(tags))
	attrs = append(attrs, s.tags...)
	attrs = append(attrs, tagsToAttrs(tags)...)
	s.log.LogAttrs(context.Background(), level, msg, attrs...)
}

func tagsToAttrs(tags []tag.Tag) []slog.Attr {
	attrs := make([]slog.Attr, len(tags))
	for i, t := range tags {
		attrs[i] = slog.Any(t.Key(), t.Value())
	}
	return attrs
}

// minLevelHandler drops records below a (possibly changing) minimum level.
type minLevelHandler struct {
	slog.Handler
	level slog.Leveler
}

func (h minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level.Level() && h.Handler.Enabled(ctx, l)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithAttrs(attrs), level: h.level}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithGroup(name), level: h.level}
}

// sdkLogger returns a Temporal SDK logger for the clients this package uses
// internally, filtered to level.
func sdkLogger(l *slog.Logger, level slog.Leveler) sdklog.Logger {
	h := minLevelHandler{Handler: l.Handler(), level: level}
	return sdklog.NewStructuredLogger(slog.New(h).With("component", "devserver-client"))
}
