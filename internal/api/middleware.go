package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/problem"
)

// RateLimit bounds requests per token (or per client address for requests
// without one): a token bucket refilled at PerSecond up to Burst.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// maxBuckets bounds the limiter's memory.
const maxBuckets = 10000

type bucket struct {
	tokens float64
	last   time.Time
}

// limiter holds one bucket per key; idle buckets are dropped.
type limiter struct {
	cfg     RateLimit
	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
	now     func() time.Time
}

func newLimiter(cfg RateLimit) *limiter {
	return &limiter{cfg: cfg, buckets: map[string]*bucket{}, now: time.Now}
}

// allow takes one token; when none is left it says how long to wait.
func (l *limiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.sweep) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.last) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b, ok := l.buckets[key]
	if !ok && len(l.buckets) >= maxBuckets {
		// Bounded memory: start over rather than grow without limit.
		l.buckets = map[string]*bucket{}
	}
	if !ok {
		b = &bucket{tokens: float64(l.cfg.Burst), last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(float64(l.cfg.Burst), b.tokens+now.Sub(b.last).Seconds()*l.cfg.PerSecond)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.cfg.PerSecond * float64(time.Second))
	return false, wait
}

// Rate-limit classes: each has its own buckets, so a flood of requests with
// wrong tokens from one address cannot starve Slack clicks, the UI's codec
// calls or callers with valid tokens.
const (
	classUnauthenticated = "unauthenticated"
	classToken           = "token"
	classSlack           = "slack"
	classCodec           = "codec"
	classOIDC            = "oidc"
)

// limitKey is the rate-limit class and key: a verified token's id (random
// tokens would otherwise each get a fresh bucket); Slack's and the codec's
// routes by address in their own classes; anything else by address.
func (s *Server) limitKey(r *http.Request) (string, string) {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/slack/"):
		return classSlack, "addr:" + host
	case strings.HasPrefix(r.URL.Path, "/codec/"):
		return classCodec, "addr:" + host
	}
	if r.Header.Get("Authorization") != "" {
		// Only the cheap checks here: an OIDC bearer is verified once, by
		// auth, after the limiter let it through, so a flood of forged
		// JWTs costs no signature checks or key fetches from the provider
		// beyond the limit. Until then it is limited by address, in a class
		// of its own.
		switch p, err := s.authenticate(r, false); {
		case err == nil:
			return classToken, p.Kind + ":" + p.TokenID + ":" + clientKey(r)
		case errors.Is(err, errOIDCNotChecked):
			return classOIDC, "addr:" + host
		}
	}
	return classUnauthenticated, "addr:" + host
}

// clientKey identifies the caller for rate limiting and audit: a short hash
// of the bearer token (never the token itself), else the remote address.
func clientKey(r *http.Request) string {
	if tok, ok := auth.Bearer(r); ok {
		sum := sha256.Sum256([]byte(tok))
		return "token:" + hex.EncodeToString(sum[:4])
	}
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return "addr:" + host
}

func (s *Server) rateLimited(h http.Handler) http.Handler {
	if s.RateLimit.PerSecond <= 0 {
		return h
	}
	burst := s.RateLimit.Burst
	if burst < 1 {
		burst = int(math.Max(1, s.RateLimit.PerSecond))
	}
	limiters := map[string]*limiter{}
	for _, c := range []string{classUnauthenticated, classToken, classSlack, classCodec, classOIDC} {
		limiters[c] = newLimiter(RateLimit{PerSecond: s.RateLimit.PerSecond, Burst: burst})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/metrics" {
			h.ServeHTTP(w, r)
			return
		}
		class, key := s.limitKey(r)
		ok, wait := limiters[class].allow(key)
		if !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			problem.Respond(w, http.StatusTooManyRequests, "Too many requests",
				fmt.Sprintf("rate limit of %.0f requests/s (burst %d) exceeded; retry after %ds", s.RateLimit.PerSecond, burst, max(secs, 1)))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// auditInfo is filled by the handlers for the audit record: who the caller
// authenticated as and why a request was refused.
type auditInfo struct {
	mu      sync.Mutex
	who     string
	refusal string
}

type auditKey struct{}

// noteAudit records the caller and, when refusal is set, why the request
// was refused, for the request's audit record.
func noteAudit(r *http.Request, who, refusal string) {
	a, _ := r.Context().Value(auditKey{}).(*auditInfo)
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if who != "" {
		a.who = who
	}
	if refusal != "" {
		a.refusal = refusal
	}
}

// statusWriter remembers the status code for the audit log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// audited writes one structured audit record per API call: who (token hash
// or address), what, the outcome and how long it took. Bodies and tokens
// are never logged.
func (s *Server) audited(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		ai := &auditInfo{}
		inner := r.WithContext(context.WithValue(r.Context(), auditKey{}, ai))
		h.ServeHTTP(sw, inner)
		// Middleware outside (metrics, traces) reads the matched route.
		r.Pattern = inner.Pattern
		if r.URL.Path == "/healthz" {
			return
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		ai.mu.Lock()
		who, refusal := ai.who, ai.refusal
		ai.mu.Unlock()
		attrs := []any{"method", r.Method, "path", LogPath(r.URL.Path), "status", sw.status, "client", clientKey(r), "principal", who,
			"remote", r.RemoteAddr, "duration_ms", time.Since(start).Milliseconds(), "bytes_in", r.ContentLength, "bytes_out", sw.bytes}
		if sw.status == http.StatusUnauthorized || sw.status == http.StatusForbidden || refusal != "" {
			// Every refusal is audited with its reason, at warning level.
			if refusal == "" {
				refusal = http.StatusText(sw.status)
			}
			s.Logger.Warn("audit: api call refused", append(attrs, "refusal", refusal)...)
			return
		}
		s.Logger.Info("audit: api call", attrs...)
	})
}

// LogPath is the path as logged (audit, panics, traces): the dev UI's codec endpoint carries a
// session secret (/codec/{secret}/decode), which must not reach the logs.
// Of a path under /codec/ (as the mux cleans it: an unclean one is
// redirected there) only /codec/encode, /codec/decode and a final encode or
// decode are kept; any other segment may be the secret.
func LogPath(p string) string {
	rest, ok := strings.CutPrefix(path.Clean(p), "/codec/")
	if !ok {
		return p
	}
	if rest == "encode" || rest == "decode" {
		return "/codec/" + rest
	}
	switch op := rest[strings.LastIndexByte(rest, '/')+1:]; op {
	case "encode", "decode":
		return "/codec/…/" + op
	}
	return "/codec/…"
}
