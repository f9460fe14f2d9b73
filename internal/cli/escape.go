package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// Detection fields are written by outside (often AI) systems and reach the
// terminal through runs list/show, submit, approvals and logs. Terminal
// escape sequences in them could rewrite the screen, retitle the window or
// hide text, so every byte the CLI writes goes through an escaping writer:
// control characters other than newline and tab, C1 controls, and bidi or
// invisible format characters become \uXXXX. In JSON output that spelling
// is a valid JSON escape of the same character, so JSON stays valid.

// unsafeRune reports characters a terminal could act on or hide text with.
func unsafeRune(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0xfeff, r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// printable escapes unsafe characters of one value.
func printable(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// escapeWriter escapes unsafe characters in everything written through it;
// a rune split across two writes is held until it is complete.
type escapeWriter struct {
	mu   sync.Mutex
	w    io.Writer
	hold []byte
}

func (e *escapeWriter) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	buf := append(e.hold, p...)
	e.hold = nil
	// Keep an incomplete trailing rune for the next write.
	if n := len(buf); n > 0 {
		for i := max(0, n-utf8.UTFMax+1); i < n; i++ {
			if utf8.RuneStart(buf[i]) && !utf8.FullRune(buf[i:]) {
				e.hold = append([]byte(nil), buf[i:]...)
				buf = buf[:i]
				break
			}
		}
	}
	if _, err := io.WriteString(e.w, printable(string(buf))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// escapeStreams wraps Out and Err (once).
func escapeStreams(s Streams) Streams {
	if _, ok := s.Out.(*escapeWriter); !ok && s.Out != nil {
		s.Out = &escapeWriter{w: s.Out}
	}
	if _, ok := s.Err.(*escapeWriter); !ok && s.Err != nil {
		s.Err = &escapeWriter{w: s.Err}
	}
	return s
}
