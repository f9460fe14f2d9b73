package connector

import (
	"runtime"
	"strings"
	"testing"
)

// RedactShapes redacts whole vendor messages (StatusError, ToActivityError:
// bodies up to 4 MiB). Its cost must grow linearly with the text: it used
// to copy the rest of the text for every "key: value" it met, and 1 MiB of
// Cookie:/X-Api-Key: lines took over a minute of CPU. Measured by the bytes
// it allocates (not by time: the machine's load and -race would make a
// timed assertion flaky): four times the text may cost about four times
// the bytes, not sixteen. BenchmarkRedactShapesDump times it.
func TestRedactShapesCostIsLinear(t *testing.T) {
	small, large := redactDump(64<<10), redactDump(256<<10)
	a, b := allocBytes(func() { RedactShapes(small) }), allocBytes(func() { RedactShapes(large) })
	if ratio := float64(b) / float64(a); ratio > 8 {
		t.Errorf("RedactShapes allocated %d B for %d KiB and %d B for %d KiB (%.1f×): not linear", a, len(small)>>10, b, len(large)>>10, ratio)
	}
	out := RedactShapes(large)
	if strings.Contains(out, "abc123def456") || strings.Contains(out, "k-7f3a9c") || !strings.Contains(out, "Host: api.example.com") {
		t.Errorf("RedactShapes of the dump: %.300s", out)
	}
}

func BenchmarkRedactShapesDump(b *testing.B) {
	dump := redactDump(1 << 20)
	b.SetBytes(int64(len(dump)))
	for b.Loop() {
		RedactShapes(dump)
	}
}

// redactDump is a gateway's dump of the requests it refused, headers one a
// line, of about n bytes.
func redactDump(n int) string {
	req := "Host: api.example.com\nCookie: sid=abc123def456\nX-Api-Key: k-7f3a9c\n"
	return strings.Repeat(req, n/len(req))
}

// allocBytes is what f allocates, in bytes.
func allocBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
