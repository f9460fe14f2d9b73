package virustotal_test

import (
	"testing"

	"github.com/riposte-dev/riposte/internal/connectortest"
)

// VirusTotal's 404 NotFoundError is a normal "unknown" answer.
func TestUnknownHashIsNotFound(t *testing.T) {
	h := connectortest.New(t)
	out := h.MustRun("virustotal.file_report", map[string]any{"hash": "0123456789abcdef0123456789abcdef"}, "k")
	if out["found"] != false {
		t.Errorf("output = %v", out)
	}
}

// A 404 that is not VirusTotal's (wrong base URL, a proxy) must fail the
// step, not report found=false, malicious=0.
func TestForeign404IsAnError(t *testing.T) {
	h := connectortest.New(t)
	c := h.Env.Connections["virustotal"]
	c.BaseURL = h.Lab.URL() + "/not-virustotal" // the lab's mux answers a plain 404 here
	h.Env.Connections["virustotal"] = c
	out, err := h.Run("virustotal.ip_report", map[string]any{"ip": "203.0.113.9"}, "k")
	if err == nil {
		t.Fatalf("a foreign 404 became a verdict: %v", out)
	}
	ae := connectortest.AppError(t, err)
	if !ae.NonRetryable() || ae.Type() != "VendorError" {
		t.Errorf("error = %s %v, want non-retryable VendorError", ae.Type(), err)
	}
}
