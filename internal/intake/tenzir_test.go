package intake_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Tenzir's library (github.com/tenzir/library) records the OCSF events its
// mappings produce in its package tests, printed in Tenzir's record
// notation (TQL): JSON-like, with unquoted keys, trailing commas, and
// unquoted IP addresses and timestamps. testdata/real keeps each such
// output verbatim as NAME.tql.txt and its mechanical transcription to JSON
// as NAME.ocsf.json (README.md there cites the commits). tqlToJSON is the
// transcription; TestTenzirTranscriptions requires every committed .ocsf.json
// to be exactly tqlToJSON of its .tql.txt, so neither can be edited by hand.
// Regenerate with: go test ./internal/intake -run TestTenzirTranscriptions -update-tql
//
// The rules, and the only changes made to the data:
//   - a key is written as a JSON string (keys Tenzir quoted keep their text);
//   - strings, numbers (their text as printed), true, false and null are
//     copied; arrays and records keep their order; trailing commas go;
//   - an IP address (IPv4 or IPv6) becomes a JSON string of its text;
//   - a timestamp (RFC 3339, e.g. 2026-02-04T19:06:45.022Z) becomes OCSF's
//     timestamp_t, epoch milliseconds (an integer; digits below the
//     millisecond are dropped, time.Time.UnixMilli), except under a key
//     ending in "_dt" (OCSF datetime_t), where it stays its RFC 3339 text;
//   - anything else printed unquoted (durations, subnets, blobs, ...) is an
//     error: a new kind of value needs a new, documented rule here.
var updateTQL = flag.Bool("update-tql", false, "rewrite testdata/real/*.ocsf.json from the Tenzir *.tql.txt beside them")

func TestTenzirTranscriptions(t *testing.T) {
	srcs, _ := filepath.Glob(filepath.Join("testdata", "real", "*.tql.txt"))
	if len(srcs) == 0 {
		t.Fatal("no Tenzir output in testdata/real")
	}
	for _, src := range srcs {
		in, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		out, err := tqlToJSON(in)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		dst := strings.TrimSuffix(src, ".tql.txt") + ".ocsf.json"
		if *updateTQL {
			if err := os.WriteFile(dst, out, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		have, err := os.ReadFile(dst)
		if err != nil {
			t.Errorf("%s: %v (run with -update-tql)", src, err)
			continue
		}
		if !bytes.Equal(have, out) {
			t.Errorf("%s is not the transcription of %s (run with -update-tql and review the diff)", dst, src)
		}
	}
}

// TestTQLToJSON: each rule of the transcription, and the refusals.
func TestTQLToJSON(t *testing.T) {
	in := `{
  a: "x\"y\\z\n",
  "Product Name": 1.50,
  ip: 198.51.100.8,
  ip6: 2001:db8::1,
  time: 2024-03-23T12:34:56.789012300Z,
  time_dt: 2024-03-23T12:34:56Z,
  l: [1, -2, true, null, {}],
}`
	out, err := tqlToJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := map[string]string{"a": "x\"y\\z\n", "Product Name": "1.50", "ip": "198.51.100.8", "ip6": "2001:db8::1", "time": "1711197296789", "time_dt": "2024-03-23T12:34:56Z"}
	for k, w := range want {
		if g := fmt.Sprint(got[k]); g != w {
			t.Errorf("%s = %s, want %s", k, g, w)
		}
	}
	if !strings.Contains(string(out), `"Product Name": 1.50`) {
		t.Errorf("a number's text was not kept:\n%s", out)
	}
	if l := fmt.Sprint(got["l"]); l != "[1 -2 true <nil> map[]]" {
		t.Errorf("l = %s", l)
	}
	for _, bad := range []string{`{d: 5ms}`, `{n: 10.0.0.0/8}`, `{s: "unterminated}`, `{a: 1`, `{a 1}`, `{s: "\q"}`} {
		if out, err := tqlToJSON([]byte(bad)); err == nil {
			t.Errorf("%s: accepted as %s", bad, out)
		}
	}
	two, err := tqlToJSON([]byte("{a: 1}\n{a: 2}\n"))
	if err != nil || !bytes.HasPrefix(two, []byte("[")) {
		t.Errorf("two records: %s %v, want a JSON array", two, err)
	}
}

// tqlToJSON transcribes one or more TQL records (as Tenzir prints them) to
// JSON: one record as an object, several as an array, indented by two
// spaces, ending with a newline.
func tqlToJSON(src []byte) ([]byte, error) {
	p := &tqlParser{s: string(src)}
	var recs [][]byte
	for {
		p.space()
		if p.i == len(p.s) {
			break
		}
		var b bytes.Buffer
		if err := p.value(&b, "", 0); err != nil {
			return nil, err
		}
		recs = append(recs, b.Bytes())
	}
	switch len(recs) {
	case 0:
		return nil, fmt.Errorf("no record")
	case 1:
		return append(recs[0], '\n'), nil
	}
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, r := range recs {
		b.WriteString("  ")
		b.Write(bytes.ReplaceAll(r, []byte("\n"), []byte("\n  ")))
		if i < len(recs)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return b.Bytes(), nil
}

type tqlParser struct {
	s string
	i int
}

var (
	tqlNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	tqlIdent  = regexp.MustCompile(`^[A-Za-z_@][A-Za-z0-9_@]*`)
)

func (p *tqlParser) errorf(format string, a ...any) error {
	line := 1 + strings.Count(p.s[:p.i], "\n")
	return fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, a...))
}

func (p *tqlParser) space() {
	for p.i < len(p.s) && strings.ContainsRune(" \t\r\n", rune(p.s[p.i])) {
		p.i++
	}
}

func (p *tqlParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func indent(b *bytes.Buffer, depth int) {
	b.WriteByte('\n')
	b.WriteString(strings.Repeat("  ", depth))
}

// value writes the value at p.i; key is the field it is the value of
// ("" in a list or at the top).
func (p *tqlParser) value(b *bytes.Buffer, key string, depth int) error {
	p.space()
	switch c := p.peek(); c {
	case '{':
		p.i++
		b.WriteByte('{')
		n := 0
		for {
			p.space()
			if p.peek() == '}' {
				p.i++
				break
			}
			var k string
			if p.peek() == '"' {
				s, err := p.str()
				if err != nil {
					return err
				}
				k = s
			} else if m := tqlIdent.FindString(p.s[p.i:]); m != "" {
				k = m
				p.i += len(m)
			} else {
				return p.errorf("want a key or '}'")
			}
			p.space()
			if p.peek() != ':' {
				return p.errorf("want ':' after key %q", k)
			}
			p.i++
			if n > 0 {
				b.WriteByte(',')
			}
			indent(b, depth+1)
			b.Write(jsonString(k))
			b.WriteString(": ")
			if err := p.value(b, k, depth+1); err != nil {
				return err
			}
			n++
			if err := p.sep('}'); err != nil {
				return err
			}
		}
		if n > 0 {
			indent(b, depth)
		}
		b.WriteByte('}')
		return nil
	case '[':
		p.i++
		b.WriteByte('[')
		n := 0
		for {
			p.space()
			if p.peek() == ']' {
				p.i++
				break
			}
			if n > 0 {
				b.WriteByte(',')
			}
			indent(b, depth+1)
			if err := p.value(b, "", depth+1); err != nil {
				return err
			}
			n++
			if err := p.sep(']'); err != nil {
				return err
			}
		}
		if n > 0 {
			indent(b, depth)
		}
		b.WriteByte(']')
		return nil
	case '"':
		s, err := p.str()
		if err != nil {
			return err
		}
		b.Write(jsonString(s))
		return nil
	case 0:
		return p.errorf("unexpected end")
	}
	// A bare token: up to the next separator.
	j := p.i
	for j < len(p.s) && !strings.ContainsRune(",]} \t\r\n", rune(p.s[j])) {
		j++
	}
	tok := p.s[p.i:j]
	switch {
	case tok == "null" || tok == "true" || tok == "false" || tqlNumber.MatchString(tok):
		b.WriteString(tok)
	case isIP(tok):
		b.Write(jsonString(tok))
	default:
		ts, err := time.Parse(time.RFC3339Nano, tok)
		if err != nil {
			return p.errorf("%q is not a string, number, IP address or timestamp: no rule to transcribe it", tok)
		}
		if strings.HasSuffix(key, "_dt") {
			b.Write(jsonString(tok))
		} else {
			fmt.Fprintf(b, "%d", ts.UnixMilli())
		}
	}
	p.i = j
	return nil
}

func isIP(tok string) bool {
	_, err := netip.ParseAddr(tok)
	return err == nil
}

// sep consumes the ',' after an element, or sees the closing bracket.
func (p *tqlParser) sep(end byte) error {
	p.space()
	switch p.peek() {
	case ',':
		p.i++
		return nil
	case end:
		return nil
	}
	return p.errorf("want ',' or %q", end)
}

// str reads a double-quoted string with the escapes Tenzir prints.
func (p *tqlParser) str() (string, error) {
	p.i++ // opening quote
	var sb strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch c {
		case '"':
			p.i++
			return sb.String(), nil
		case '\\':
			if p.i+1 >= len(p.s) {
				return "", p.errorf("unterminated string")
			}
			e, ok := map[byte]string{'"': "\"", '\\': "\\", 'n': "\n", 't': "\t", 'r': "\r", '/': "/"}[p.s[p.i+1]]
			if !ok {
				return "", p.errorf("escape \\%c has no rule", p.s[p.i+1])
			}
			sb.WriteString(e)
			p.i += 2
		default:
			sb.WriteByte(c)
			p.i++
		}
	}
	return "", p.errorf("unterminated string")
}

func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
