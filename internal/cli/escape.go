package cli

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
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
	case r == 0x2028 || r == 0x2029:
		return true
	}
	// Every format character (Cf): bidi controls and marks (U+061C,
	// U+200E, U+202A-U+202E, U+2066-U+2069), zero-width and invisible ones
	// (U+200B, U+2060-U+2064, U+FEFF, the soft hyphen), interlinear
	// annotations and the tag characters U+E0000-U+E007F, which spell
	// ASCII a terminal does not show.
	return unicode.Is(unicode.Cf, r)
}

// printable escapes unsafe characters of one value.
func printable(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			// Beyond U+FFFF as a UTF-16 surrogate pair, the JSON spelling.
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				fmt.Fprintf(&b, "\\u%04x\\u%04x", r1, r2)
				continue
			}
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

// Newlines and tabs are the two characters the escaping writer lets
// through, since the CLI's own output is made of lines and tab-separated
// table cells. Inside one value (a detection's uid, a host name, a
// withdrawal's status text, a vendor's error) they would start a line or
// a column Riposte never wrote: a forged table row, a "status: succeeded"
// line. Listings therefore print through printLine and sprintLine, which
// escape them in every value and leave only the format's own.

// inLine escapes the line breaks and tabs of one value as \uXXXX.
func inLine(s string) string {
	if !strings.ContainsAny(s, "\n\t") {
		return s
	}
	return strings.NewReplacer("\n", `\u000a`, "\t", `\u0009`).Replace(s)
}

// lineArgs applies inLine to each string argument and to the printed
// form of every other value but numbers and booleans (a map or list
// decoded from JSON, a Stringer, an error), which are passed as they are.
func lineArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case nil:
			out[i] = v
		case string:
			out[i] = inLine(v)
		case fmt.Stringer:
			out[i] = inLine(v.String())
		case error:
			out[i] = inLine(v.Error())
		default:
			switch reflect.ValueOf(v).Kind() {
			case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
				out[i] = v
			default:
				out[i] = inLine(fmt.Sprint(v))
			}
		}
	}
	return out
}

// printLine is fmt.Fprintf with inLine applied to every argument.
func printLine(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, format, lineArgs(args)...)
}

// sprintLine is fmt.Sprintf with inLine applied to every argument.
func sprintLine(format string, args ...any) string {
	return fmt.Sprintf(format, lineArgs(args)...)
}
