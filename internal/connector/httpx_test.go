package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
)

func TestHeaderDelay(t *testing.T) {
	now := time.Date(2025, 11, 18, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name, header, value string
		want                time.Duration
		ok                  bool
	}{
		{"retry-after seconds", "Retry-After", "17", 17 * time.Second, true},
		{"retry-after date", "Retry-After", now.Add(42 * time.Second).Format(http.TimeFormat), 42 * time.Second, true},
		{"crowdstrike epoch", "X-RateLimit-RetryAfter", fmt.Sprint(now.Add(9 * time.Second).Unix()), 9 * time.Second, true},
		{"okta epoch", "X-Rate-Limit-Reset", fmt.Sprint(now.Add(61 * time.Second).Unix()), 61 * time.Second, true},
		{"rfc 3339", "X-RateLimit-Reset", now.Add(5 * time.Second).Format(time.RFC3339), 5 * time.Second, true},
		// Jira Cloud's documented form, to the minute: yyyy-MM-ddTHH:mmZ.
		{"jira iso to the minute", "X-RateLimit-Reset", "2025-11-18T12:02Z", 2 * time.Minute, true},
		{"garbage", "Retry-After", "soon", 0, false},
		{"none", "X-Other", "1", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(tt.header, tt.value)
			got, ok := HeaderDelay(h, now)
			if ok != tt.ok || got != tt.want {
				t.Errorf("headerDelay = %s, %v; want %s, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	h := http.Header{"Retry-After": {"86400"}}
	if d := RetryDelay(h, now, 5*time.Minute); d != 5*time.Minute {
		t.Errorf("cap: %s", d)
	}
	h = http.Header{"X-Rate-Limit-Reset": {fmt.Sprint(now.Add(-time.Minute).Unix())}}
	if d := RetryDelay(h, now, 5*time.Minute); d != time.Second {
		t.Errorf("past reset: %s", d)
	}
	if d := RetryDelay(http.Header{}, now, 5*time.Minute); d != defaultRateLimitDelay {
		t.Errorf("default: %s", d)
	}
}

// A 5xx waits only for Retry-After: Okta sends X-Rate-Limit-Reset (its
// quota window's end) on every answer, which says nothing of an outage.
func TestUnavailableWaitsOnlyForRetryAfter(t *testing.T) {
	c := &Conn{Env: &Env{}, Name: "okta", Label: "Okta"}
	reset := fmt.Sprint(time.Now().Add(50 * time.Second).Unix())
	for _, tt := range []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"okta's reset on a 503", http.Header{"X-Rate-Limit-Reset": {reset}}, 0},
		{"retry-after on a 503", http.Header{"Retry-After": {"7"}, "X-Rate-Limit-Reset": {reset}}, 7 * time.Second},
	} {
		err := c.StatusError(&Response{Status: http.StatusServiceUnavailable, Header: tt.header}, "", "")
		var f *Failure
		if !errors.As(err, &f) || f.Delay != tt.want {
			t.Errorf("%s: %v, delay %v, want %s", tt.name, err, f, tt.want)
		}
	}
}

func TestToActivityErrorKeepsKindThroughWrapping(t *testing.T) {
	f := NewFailure(KindRateLimited, "rate limited")
	f.Delay = 12 * time.Second
	err := ToActivityError(fmt.Errorf("isolating host x: %w", f), nil)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.NonRetryable() || ae.Type() != KindRateLimited || ae.NextRetryDelay() != 12*time.Second {
		t.Fatalf("got %#v", err)
	}
	if ae.Message() != "isolating host x: rate limited" {
		t.Errorf("message = %q", ae.Message())
	}
	err = ToActivityError(fmt.Errorf("ctx: %w", NewFailure(KindAuth, "token s3cr3t-value refused")), []string{"s3cr3t-value"})
	if !errors.As(err, &ae) || !ae.NonRetryable() || strings.Contains(ae.Error(), "s3cr3t") {
		t.Fatalf("got %v", err)
	}
	err = ToActivityError(errors.New("boom"), nil)
	if !errors.As(err, &ae) || ae.NonRetryable() {
		t.Fatalf("unknown errors should stay retryable: %v", err)
	}
	if err := ToActivityError(fmt.Errorf("x: %w", context.Canceled), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancellation must pass through: %v", err)
	}
}

func TestSecretRefNeverPrintsLabValue(t *testing.T) {
	ref := SecretRef{Lab: "hunter2-literal"}
	c := Connection{Type: "okta", Secrets: map[string]SecretRef{"api_token": ref}}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("printed: %s", s)
		}
	}
	b, _ := json.Marshal(c)
	if strings.Contains(string(b), "hunter2") {
		t.Errorf("JSON: %s", b)
	}
}
