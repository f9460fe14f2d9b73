package virustotal_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// A QuotaExceededError (docs.virustotal.com/reference/errors: 429) is a
// rate limit, retried after Retry-After when sent, else 30 s (README); the
// same error code under another status is read the same way. It never
// reads as a verdict.
func TestQuotaExceededIsARateLimit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		retry  string
		want   time.Duration
	}{
		{"429 without Retry-After", http.StatusTooManyRequests, "", 30 * time.Second},
		{"429 with Retry-After", http.StatusTooManyRequests, "7", 7 * time.Second},
		{"quota error under a 403", http.StatusForbidden, "", 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if tc.retry != "" {
					w.Header().Set("Retry-After", tc.retry)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(`{"error":{"code":"QuotaExceededError","message":"Quota exceeded"}}`))
			}))
			defer srv.Close()
			h := connectortest.New(t)
			h.Env.Connections["virustotal"] = activities.Connection{Type: "virustotal", BaseURL: srv.URL,
				Secrets: map[string]activities.SecretRef{"api_key": {Lab: "k"}}}
			out, err := h.Run("virustotal.ip_report", map[string]any{"ip": "203.0.113.77"}, "k1")
			if err == nil {
				t.Fatalf("a quota error read as a result: %v", out)
			}
			ae := connectortest.AppError(t, err)
			if ae.NonRetryable() || ae.Type() != connector.KindRateLimited || ae.NextRetryDelay() != tc.want {
				t.Errorf("%s: type %s, non-retryable %v, next retry in %s; want a rate limit retried in %s", err, ae.Type(), ae.NonRetryable(), ae.NextRetryDelay(), tc.want)
			}
		})
	}
}
