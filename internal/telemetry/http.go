package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

const tracerName = "github.com/riposte-dev/riposte/internal/telemetry"

// HTTPMiddleware wraps the API handler: it starts a server span for every
// request (continuing a W3C traceparent sent by the caller) whose context
// the handlers pass on, so the Temporal interceptor's spans for the runs a
// detection starts become its children; and it counts the request in
// riposte_api_requests_total{route,code}. route is the http.ServeMux pattern
// that matched ("POST /v1/detections"; "unmatched" when none did), so the
// label stays bounded whatever paths clients send. m may be nil (tracing
// only). Wrap the outermost handler: the mux sets the pattern on the
// request the middleware holds.
//
// logPath is the span's url.path for a request path (api.LogPath hides the
// codec session secret); nil records the path as sent.
func HTTPMiddleware(m *Metrics, next http.Handler, logPath func(string) string) http.Handler {
	tracer := otel.Tracer(tracerName)
	if logPath == nil {
		logPath = func(p string) string { return p }
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, "HTTP "+r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				attribute.String("http.request.method", r.Method),
				attribute.String("url.path", logPath(r.URL.Path)),
			))
		defer span.End()
		rec := &statusRecorder{ResponseWriter: w}
		r = r.WithContext(ctx)
		next.ServeHTTP(rec, r)
		code := rec.status()
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		span.SetName(route)
		span.SetAttributes(attribute.String("http.route", routePath(route)), attribute.Int("http.response.status_code", code))
		if code >= 500 {
			span.SetStatus(codes.Error, http.StatusText(code))
		}
		m.APIRequest(route, code)
	})
}

// routePath drops the method from a pattern ("POST /v1/x" -> "/v1/x").
func routePath(p string) string {
	if _, path, ok := strings.Cut(p, " "); ok {
		return path
	}
	return p
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (Flush, ...).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

// MetricsServer serves /metrics (and /healthz) on a listener of its own,
// for processes without an HTTP API (riposte worker) or to keep metrics off
// the API's port.
type MetricsServer struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:9090.
	URL  string
	srv  *http.Server
	done chan error

	closeOnce sync.Once
	closeErr  error
	ready     atomic.Bool
	check     atomic.Pointer[func(context.Context) error]
	extraMu   sync.Mutex
	extra     []func(context.Context) error
}

// SetReady sets what GET /readyz answers: 200 when ready, else 503.
func (s *MetricsServer) SetReady(ready bool) {
	if s != nil {
		s.ready.Store(ready)
	}
}

// readyCheckTimeout bounds one readiness check (Kubernetes' probe timeout
// is 1 s by default; a check that hangs answers 503, not a probe timeout).
const readyCheckTimeout = 900 * time.Millisecond

// SetReadyCheck adds a check GET /readyz runs on every request once the
// process said it is ready (SetReady): while it fails, /readyz answers 503
// with its error. A worker checks that Temporal answers: a worker that
// cannot reach its frontend polls nothing, and is not ready.
func (s *MetricsServer) SetReadyCheck(check func(context.Context) error) {
	if s != nil {
		s.check.Store(&check)
	}
}

// AddReadyCheck adds a check GET /readyz runs after SetReadyCheck's (a
// component's own health: Slack Socket Mode connected); the first that
// fails answers 503 with its error.
func (s *MetricsServer) AddReadyCheck(check func(context.Context) error) {
	if s != nil && check != nil {
		s.extraMu.Lock()
		defer s.extraMu.Unlock()
		s.extra = append(s.extra, check)
	}
}

// readyErr runs the readiness checks.
func (s *MetricsServer) readyErr(ctx context.Context) error {
	if c := s.check.Load(); c != nil && *c != nil {
		if err := (*c)(ctx); err != nil {
			return err
		}
	}
	s.extraMu.Lock()
	extra := append([]func(context.Context) error(nil), s.extra...)
	s.extraMu.Unlock()
	for _, c := range extra {
		if err := c(ctx); err != nil {
			return err
		}
	}
	return nil
}

// ServeMetrics listens on addr (host:port; ":9090" for every interface) and
// serves m.Handler() at /metrics, a liveness answer at /healthz and a
// readiness answer at /readyz (see SetReady).
func ServeMetrics(addr string, m *Metrics) (*MetricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	s := &MetricsServer{URL: "http://" + ln.Addr().String(), done: make(chan error, 1)}
	// Readiness: 503 until the process says it does its work (a worker:
	// connected to Temporal and polling), for Kubernetes readiness probes.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !s.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"starting"}` + "\n"))
			return
		}
		{
			ctx, cancel := context.WithTimeout(r.Context(), readyCheckTimeout)
			err := s.readyErr(ctx)
			cancel()
			if err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				b, _ := json.Marshal(map[string]string{"status": "unavailable", "error": err.Error()})
				_, _ = w.Write(append(b, '\n'))
				return
			}
		}
		_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// Close stops the server, waiting up to 5 seconds for scrapes in flight.
// Calling it again returns the first result.
func (s *MetricsServer) Close() error {
	if s == nil {
		return nil
	}
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.closeErr = s.srv.Shutdown(ctx)
		<-s.done
	})
	return s.closeErr
}
