package connector

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// Rate-limit headers that carry an instant (Okta's X-Rate-Limit-Reset and
// CrowdStrike's X-RateLimit-RetryAfter, epoch seconds) are instants of the
// vendor's clock: the wait is that instant minus the answer's Date, as
// Okta's own Go SDK computes it (okta-sdk-golang, Get429BackoffTime:
// X-Rate-Limit-Reset minus the parsed Date header; Okta's "Rate limit best
// practices", developer.okta.com/docs/reference/rl-best-practices: "the
// time at which the rate limit resets, specified in UTC epoch time"). A
// worker whose clock is off by minutes must neither hammer the vendor
// every second (clock ahead: the reset looks past) nor sit out the whole
// cap (clock behind: the reset looks far away).
func TestRateLimitResetIsReadOnTheVendorsClock(t *testing.T) {
	c := &Conn{Env: &Env{}, Name: "okta", Label: "Okta"}
	for _, tc := range []struct {
		name   string
		header string
		skew   time.Duration // vendor clock minus ours
	}{
		{"okta, worker clock 10 min ahead", "X-Rate-Limit-Reset", -10 * time.Minute},
		{"okta, worker clock 10 min behind", "X-Rate-Limit-Reset", 10 * time.Minute},
		{"crowdstrike, worker clock 3 min ahead", "X-RateLimit-RetryAfter", -3 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vendorNow := time.Now().Add(tc.skew).UTC()
			h := http.Header{}
			h.Set("Date", vendorNow.Format(http.TimeFormat))
			h.Set(tc.header, fmt.Sprint(vendorNow.Add(20*time.Second).Unix()))
			err := c.StatusError(&Response{Status: http.StatusTooManyRequests, Header: h}, "", "")
			var f *Failure
			if !errors.As(err, &f) {
				t.Fatalf("err = %v", err)
			}
			if f.Delay < 19*time.Second || f.Delay > 21*time.Second {
				t.Errorf("a reset 20 s after the answer's Date: retry in %s, want 20 s (%v)", f.Delay, err)
			}
		})
	}
}
