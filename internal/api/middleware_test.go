package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestLimiterRefills(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(RateLimit{PerSecond: 2, Burst: 3})
	l.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if ok, _ := l.allow("k"); !ok {
			t.Fatalf("request %d refused within burst", i)
		}
	}
	ok, wait := l.allow("k")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("4th request: ok=%v wait=%s", ok, wait)
	}
	if ok, _ := l.allow("other"); !ok {
		t.Error("another key shares the bucket")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.allow("k"); !ok {
		t.Error("bucket did not refill")
	}
}

func TestRateLimitedAnswers429(t *testing.T) {
	s := &Server{RateLimit: RateLimit{PerSecond: 1, Burst: 1}}
	h := s.rateLimited(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	req := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/v1/detections", nil)
		r.Header.Set("Authorization", "Bearer t")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := req(); w.Code != 204 {
		t.Fatalf("first: %d", w.Code)
	}
	w := req()
	if w.Code != 429 || w.Header().Get("Retry-After") == "" || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("second: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if clientKey(httptest.NewRequest("GET", "/", nil)) == "" {
		t.Error("empty client key")
	}
}
