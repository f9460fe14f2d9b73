package httpreq_test

import (
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

func echoCalls(h *connectortest.Harness) []lab.Call { return h.Lab.CallsFor(lab.HTTPEcho, "", "") }

// A POST whose answer is lost (the API acted, the gateway answered 502) is
// not retried: a second POST could act twice.
func TestPOSTIsNotRetriedAfterUncertainFailure(t *testing.T) {
	h := connectortest.New(t)
	h.Lab.InjectFault(lab.HTTPEcho, lab.Fault{Status: 502, Lost: true})
	_, err := h.RunWithRetries("http.request", map[string]any{"connection": lab.EchoConnection, "method": "POST", "path": "/blocklist", "body": map[string]any{"ip": "203.0.113.7"}}, 4)
	ae := connectortest.AppError(t, err)
	if ae.Type() != "HTTPUncertain" || !strings.Contains(err.Error(), "not retried") {
		t.Errorf("err = %v", err)
	}
	if n := len(echoCalls(h)); n != 1 {
		t.Errorf("POSTs that reached the API = %d, want 1", n)
	}
}

// Opting in: retry: true, or an idempotency_key header the API dedupes on.
func TestPOSTRetriedWhenTheStepOptsIn(t *testing.T) {
	for _, extra := range []map[string]any{{"retry": true}, {"idempotency_key": "X-Idempotency-Key"}} {
		h := connectortest.New(t)
		h.Lab.InjectFault(lab.HTTPEcho, lab.Fault{Status: 502, Lost: true})
		p := map[string]any{"connection": lab.EchoConnection, "method": "POST", "path": "/blocklist", "body": "x"}
		for k, v := range extra {
			p[k] = v
		}
		out, err := h.RunWithRetries("http.request", p, 4)
		if err != nil {
			t.Fatalf("%v: %v", extra, err)
		}
		if n := len(echoCalls(h)); n != 2 {
			t.Errorf("%v: POSTs = %d, want 2 (one lost, one retried)", extra, n)
		}
		if extra["idempotency_key"] != nil {
			hdrs, _ := out["json"].(map[string]any)["headers"].(map[string]any)
			if hdrs["X-Idempotency-Key"] != "wf-test/step/0" {
				t.Errorf("X-Idempotency-Key = %v", hdrs["X-Idempotency-Key"])
			}
		}
	}
}

// GET is idempotent: retried. 429 was not processed: retried for POST too.
func TestIdempotentAndRateLimitedAreRetried(t *testing.T) {
	h := connectortest.New(t)
	h.Lab.InjectFault(lab.HTTPEcho, lab.Fault{Status: 502})
	if _, err := h.RunWithRetries("http.request", map[string]any{"connection": lab.EchoConnection, "path": "/items"}, 4); err != nil {
		t.Errorf("GET: %v", err)
	}
	h.Lab.InjectFault(lab.HTTPEcho, lab.Fault{Status: 429, RetryAfter: time.Second})
	if _, err := h.RunWithRetries("http.request", map[string]any{"connection": lab.EchoConnection, "method": "POST", "path": "/x", "body": "y"}, 4); err != nil {
		t.Errorf("POST after 429: %v", err)
	}
	_, err := h.Run("http.request", map[string]any{"connection": lab.EchoConnection, "method": "POST", "path": "/x", "idempotency_key": "Host"}, "k")
	if ae := connectortest.AppError(t, err); ae.Type() != "InvalidParams" {
		t.Errorf("idempotency_key Host: %v", err)
	}
}
