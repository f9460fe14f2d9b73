package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
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

// limitKey is the rate-limit key: the token only once it is the right one
// (random tokens would otherwise each get a fresh bucket), else the address.
func (s *Server) limitKey(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok && s.Token != "" && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.Token)) == 1 {
		return clientKey(r)
	}
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return "addr:" + host
}

// clientKey identifies the caller for rate limiting and audit: a short hash
// of the bearer token (never the token itself), else the remote address.
func clientKey(r *http.Request) string {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok != "" {
		sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
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
	l := newLimiter(RateLimit{PerSecond: s.RateLimit.PerSecond, Burst: burst})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/metrics" {
			h.ServeHTTP(w, r)
			return
		}
		ok, wait := l.allow(s.limitKey(r))
		if !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			Problem(w, http.StatusTooManyRequests, "Too many requests",
				fmt.Sprintf("rate limit of %.0f requests/s (burst %d) exceeded; retry after %ds", s.RateLimit.PerSecond, burst, max(secs, 1)))
			return
		}
		h.ServeHTTP(w, r)
	})
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
		h.ServeHTTP(sw, r)
		if r.URL.Path == "/healthz" {
			return
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.Logger.Info("audit: api call",
			"method", r.Method, "path", r.URL.Path, "status", sw.status, "client", clientKey(r),
			"remote", r.RemoteAddr, "duration_ms", time.Since(start).Milliseconds(), "bytes_in", r.ContentLength, "bytes_out", sw.bytes)
	})
}
