package connector

import (
	"net/http"
	"testing"
	"time"
)

// Retry-After is delay-seconds (1*DIGIT) or an HTTP-date (RFC 9110
// §10.2.3); the epoch headers (X-RateLimit-RetryAfter, X-Rate-Limit-Reset)
// are digits too. Anything else is garbage and gets the default wait, as
// "soon" does: not a number Go's float parser happens to accept
// ("Infinity", a hex float), which became a 1 s retry (an infinite epoch
// converted to a time in the past) or a wait nobody sent.
func TestRateLimitHeaderGarbageGetsTheDefault(t *testing.T) {
	now := time.Date(2025, 11, 18, 12, 0, 0, 0, time.UTC)
	for _, v := range []string{"Infinity", "+Inf", "inf", "0x1p4", "NaN", "soon"} {
		for _, name := range []string{"Retry-After", "X-RateLimit-RetryAfter", "X-Rate-Limit-Reset"} {
			h := http.Header{}
			h.Set(name, v)
			if d := RetryDelay(h, now, 5*time.Minute); d != defaultRateLimitDelay {
				t.Errorf("%s: %s: retry in %s, want the default %s", name, v, d, defaultRateLimitDelay)
			}
		}
	}
}
