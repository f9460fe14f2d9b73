package pagerduty_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// A 2xx that is not PagerDuty's {"status":"success"} answer did not
// trigger anything: base_url set to the account's web app
// (https://acme.pagerduty.com instead of https://events.pagerduty.com)
// answers the POST with its sign-in page (HTTP 200 HTML, here after a
// redirect), a gateway with an empty 202. The step must fail, not report
// an alert nobody will be paged for.
func TestTriggerRefusesAnswerThatIsNotPagerDutys(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/enqueue":
			http.Redirect(w, r, "/sign_in", http.StatusSeeOther)
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte("<!DOCTYPE html><html><head><title>Log In | PagerDuty</title></head><body>Sign in</body></html>"))
		}
	}))
	defer srv.Close()
	h := connectortest.New(t)
	h.Env.Connections["pagerduty"] = activities.Connection{Type: "pagerduty", BaseURL: srv.URL,
		Secrets: map[string]activities.SecretRef{"routing_key": {Lab: "samplekeyhere0000000000000000000"}}}
	out, err := h.Run("pagerduty.trigger", map[string]any{"summary": "ransomware on fin-ws-042"}, "k1")
	if err == nil {
		t.Fatalf("a sign-in page (HTTP 200 HTML) was taken for a triggered alert: %v", out)
	}

	// Same for a 202 whose body is not PagerDuty's (a gateway, a mock).
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv2.Close()
	h.Env.Connections["pagerduty"] = activities.Connection{Type: "pagerduty", BaseURL: srv2.URL,
		Secrets: map[string]activities.SecretRef{"routing_key": {Lab: "samplekeyhere0000000000000000000"}}}
	out, err = h.Run("pagerduty.trigger", map[string]any{"summary": "ransomware on fin-ws-042"}, "k2")
	if err == nil {
		t.Fatalf("an empty 202 was taken for a triggered alert: %v", out)
	}
}

// A gateway that echoes the event in its 2xx: the failure quotes the
// answer without the routing key, even where the quote is clipped.
func TestTriggerRefusalQuotesNoRoutingKey(t *testing.T) {
	const key = "samplekeyhere0000000000000000000"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 280)
		for i := range b {
			b[i] = 'x'
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(append(b, []byte(`"routing_key":"`+key+`"`)...))
	}))
	defer srv.Close()
	h := connectortest.New(t)
	h.Env.Connections["pagerduty"] = activities.Connection{Type: "pagerduty", BaseURL: srv.URL,
		Secrets: map[string]activities.SecretRef{"routing_key": {Lab: key}}}
	_, err := h.Run("pagerduty.trigger", map[string]any{"summary": "s"}, "k1")
	if err == nil || strings.Contains(err.Error(), key[:12]) {
		t.Fatalf("err = %v", err)
	}
}
