package api

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/telemetry"
)

// A body that does not arrive within the server's ReadTimeout (serve's is
// 30 s: a slow link, a stalled shipper) was answered 400 "Malformed
// detection request" ("reading body: ... i/o timeout"), the answer that
// says the detections are wrong and must not be resent: log shippers drop
// a batch on a 400 (Vector retries 408, 429 and 5xx only), so the
// detections were lost. It is a 408 (RFC 9110 §15.5.9), which says to
// resend, with Connection: close; nothing was dispatched.
func TestBodyNotReceivedInTimeIs408(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(det("slow-2", 5, "")))
	_ = zw.Close()
	for _, tc := range []struct{ path, body, encoding string }{
		{"/v1/detections", det("slow-1", 5, ""), ""},
		{"/v1/detections", gz.String(), "gzip"},
		{"/v1/runs/w1/rollback", `{"user": "U0SOCLEAD1"}`, ""},
		{"/v1/runs/w1/approvals", `{"step": "isolate", "decision": "deny"}`, ""},
	} {
		t.Run(tc.path+tc.encoding, func(t *testing.T) {
			st := &fakeStarter{}
			srv := newTestServer(t, st)
			srv.Approvals = &approvals.Service{} // the body is refused before any call
			srv.Metrics = telemetry.NewMetrics(telemetry.MetricsOptions{NoRuntimeCollectors: true})
			ts := httptest.NewUnstartedServer(srv.Handler())
			ts.Config.ReadTimeout = 300 * time.Millisecond
			ts.Start()
			defer ts.Close()
			conn, err := net.Dial("tcp", ts.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// The headers and half the body now; the rest never comes.
			enc := ""
			if tc.encoding != "" {
				enc = "Content-Encoding: " + tc.encoding + "\r\n"
			}
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s",
				tc.path, testToken, enc, len(tc.body), tc.body[:len(tc.body)/2])
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusRequestTimeout || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(b), `"status":408`) {
				t.Errorf("status %d %q, want a 408 problem: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			if n := len(st.Starts()); n != 0 {
				t.Errorf("%d run(s) started", n)
			}
			// Counted as a timeout, not as malformed detections: an alert
			// on malformed input must not page for a slow link.
			if tc.path == "/v1/detections" {
				mrec := httptest.NewRecorder()
				srv.Metrics.Handler().ServeHTTP(mrec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
				if m := mrec.Body.String(); !strings.Contains(m, `riposte_detections_rejected_total{reason="timeout"} 1`) || !strings.Contains(m, `riposte_detections_rejected_total{reason="malformed"} 0`) {
					t.Errorf("rejections counted:\n%s", grepLines(m, "riposte_detections_rejected_total"))
				}
			}
		})
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
