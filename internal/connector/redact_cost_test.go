package connector

import (
	"strings"
	"testing"
	"time"
)

// Redact reads whole vendor messages (StatusError's parsed vendor text,
// ToActivityError's err.Error(): up to the 4 MiB an answer may hold), and
// each "key: value" it met (a header dump's Cookie:, a log's password:)
// copied the rest of the text for isProse and isOSError: a quadratic
// cost, a 1 MiB request dump took over a minute of CPU, twice per error.
// A 1 MiB one is redacted in about a second now.
func TestRedactShapesCostIsLinear(t *testing.T) {
	// A gateway's dump of the requests it refused, headers one a line.
	req := "Host: api.example.com\nCookie: sid=abc123def456\nX-Api-Key: k-7f3a9c\n"
	body := strings.Repeat(req, (1<<20)/len(req))
	start := time.Now()
	out := RedactShapes(body)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("RedactShapes of a %d KiB request dump took %v; want about 1 s (linear)", len(body)>>10, d)
	}
	if strings.Contains(out, "abc123def456") || strings.Contains(out, "k-7f3a9c") || !strings.Contains(out, "Host: api.example.com") {
		t.Errorf("RedactShapes of the dump: %.300s", out)
	}
}
