package api

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"
)

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Log shippers compress what they post (Content-Encoding: gzip: Cribl's
// Webhook destination, Fluent Bit's http output with compress gzip,
// Vector's http sink with compression gzip). The API ignored the header
// and parsed the compressed bytes as JSON: a 400 "found invalid byte 0x1F"
// that never names the encoding — and a 4xx makes those shippers drop the
// batch. A gzip body is now read (its decompressed size bounded by the
// body limit, so a small bomb cannot inflate); a coding the API does not
// read is a 415 naming it, with Accept-Encoding (RFC 9110 §15.5.16).
func TestAPIContentEncoding(t *testing.T) {
	st := &fakeStarter{}
	h := newTestServer(t, st).Handler()

	r := post("/v1/detections", "Bearer "+testToken, gzipped(t, det("gz-1", 5, "")+"\n"+det("gz-2", 5, "")))
	r.Header.Set("Content-Encoding", "gzip")
	if got := serve(h, r); got.code != http.StatusAccepted {
		t.Errorf("gzip body: %d %.300s; want 202", got.code, got.body)
	} else if n := len(st.Starts()); n != 2 {
		t.Errorf("gzip body: %d runs started, want 2", n)
	}

	// The limit (4096 bytes in the test server) counts decompressed bytes.
	bomb := gzipped(t, det("gz-3", 5, `,"unmapped":{"pad":"`+strings.Repeat("A", 64<<10)+`"}`))
	if len(bomb) > 4096 {
		t.Fatalf("premise: the compressed body is %d bytes", len(bomb))
	}
	r = post("/v1/detections", "Bearer "+testToken, bomb)
	r.Header.Set("Content-Encoding", "gzip")
	if got := serve(h, r); got.code != http.StatusRequestEntityTooLarge || !strings.Contains(got.body, "decompressed") {
		t.Errorf("gzip over the limit once decompressed: %d %.300s; want 413 saying so", got.code, got.body)
	}

	r = post("/v1/detections", "Bearer "+testToken, "not gzip at all")
	r.Header.Set("Content-Encoding", "gzip")
	if got := serve(h, r); got.code != http.StatusBadRequest || !strings.Contains(got.body, "gzip") {
		t.Errorf("corrupt gzip: %d %.300s; want 400 naming gzip", got.code, got.body)
	}

	r = post("/v1/detections", "Bearer "+testToken, "(brotli bytes)")
	r.Header.Set("Content-Encoding", "br")
	got := serve(h, r)
	if got.code != http.StatusUnsupportedMediaType || !strings.Contains(got.body, `\"br\"`) || got.header.Get("Accept-Encoding") == "" {
		t.Errorf("Content-Encoding br: %d (Accept-Encoding %q) %.300s; want 415 naming it, with Accept-Encoding", got.code, got.header.Get("Accept-Encoding"), got.body)
	}
	if n := len(st.Starts()); n != 2 {
		t.Errorf("%d runs started, want still 2", n)
	}
}
