package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Default limits used by [Decode] when the corresponding [DecodeOptions]
// field is zero or negative.
const (
	DefaultMaxBytes      int64 = 1 << 20 // 1 MiB
	DefaultMaxDepth            = 64
	DefaultMaxDetections       = 1000
)

// Errors returned by [Decode]. Test for them with errors.Is.
var (
	// ErrTooLarge means the body is larger than DecodeOptions.MaxBytes.
	// HTTP handlers should answer 413 Content Too Large.
	ErrTooLarge = errors.New("request body too large")
	// ErrEmpty means the body holds no detection at all: it is empty,
	// whitespace only, or an empty JSON array.
	ErrEmpty = errors.New("no detections in request body")
	// ErrMalformed means the body is not valid JSON, or not one of the
	// accepted shapes (object, array of objects, NDJSON objects), or it
	// repeats a key inside one object, or holds a number out of float64
	// range.
	ErrMalformed = errors.New("malformed detection JSON")
	// ErrTooDeep means a detection nests objects/arrays deeper than
	// DecodeOptions.MaxDepth.
	ErrTooDeep = errors.New("detection JSON nested too deeply")
	// ErrTooManyDetections means the body holds more than
	// DecodeOptions.MaxDetections detections.
	ErrTooManyDetections = errors.New("too many detections in request body")
)

// DecodeOptions bounds the work [Decode] does for one request body. A zero
// or negative field means the matching Default* constant.
type DecodeOptions struct {
	// MaxBytes is the largest accepted body, in bytes (default 1 MiB).
	MaxBytes int64
	// MaxDepth is the deepest accepted nesting of objects and arrays
	// inside one detection. The detection object itself is level 1; the
	// array that wraps detections in the array form does not count
	// (default 64).
	MaxDepth int
	// MaxDetections is the largest number of detections in one body
	// (default 1000).
	MaxDetections int
}

func (o DecodeOptions) withDefaults() DecodeOptions {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxDetections <= 0 {
		o.MaxDetections = DefaultMaxDetections
	}
	return o
}

// Decode reads one request body and returns the detections it holds.
//
// The body may be one JSON object, a JSON array of objects, or NDJSON (one
// object per line; blank lines and CRLF allowed). A leading UTF-8 byte order
// mark is ignored. Numbers that are integral and within ±2^53 (or any plain
// integer literal that fits an int) become int; every other number becomes
// float64. Objects become map[string]any, arrays []any.
//
// Every error is a [*DecodeError] naming, where possible, the detection
// index, line, column and byte offset. Use errors.Is with the Err*
// sentinels to classify it: a body over opts.MaxBytes (or an
// [http.MaxBytesReader] that hit its own limit) gives [ErrTooLarge]; an
// empty body gives [ErrEmpty]. Decode never returns detections together
// with an error: a request is accepted or rejected as a whole.
func Decode(r io.Reader, opts DecodeOptions) ([]Detection, error) {
	opts = opts.withDefaults()
	body, err := readBody(r, opts.MaxBytes)
	if err != nil {
		return nil, err
	}
	p := parser{body: body, opts: opts}
	dets, err := p.parse()
	if err != nil {
		return nil, err
	}
	return dets, nil
}

// DecodePartial is [Decode] for requests that refuse a bad record alone
// (POST /v1/detections?partial=true): a record that cannot be decoded but
// whose extent is known — an NDJSON line (the next record starts on the
// next line whose first non-blank byte is '{'), or an object read to its end (a repeated
// key, a number out of range, nesting too deep) — is returned in bad,
// keyed by its index, with an empty Detection in its place in dets, and
// the records after it are read. An error about the body as a whole (too
// large, empty, too many detections, an array whose syntax is broken) is
// still err.
func DecodePartial(r io.Reader, opts DecodeOptions) (dets []Detection, bad map[int]*DecodeError, err error) {
	opts = opts.withDefaults()
	body, err := readBody(r, opts.MaxBytes)
	if err != nil {
		return nil, nil, err
	}
	p := parser{body: body, opts: opts, partial: true}
	dets, err = p.parse()
	if err != nil {
		return nil, nil, err
	}
	return dets, p.bad, nil
}

func readBody(r io.Reader, limit int64) ([]byte, error) {
	if r == nil {
		return nil, noLocation(ErrEmpty, "the request has no body")
	}
	readLimit := limit
	if readLimit < math.MaxInt64 {
		readLimit++ // one byte more than allowed tells "too large" from "exactly at the limit"
	}
	body, err := io.ReadAll(io.LimitReader(r, readLimit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, noLocation(ErrTooLarge, "the request body exceeds the limit of %d bytes", mbe.Limit)
		}
		return nil, noLocation(fmt.Errorf("read request body: %w", err), "the request body could not be read")
	}
	if int64(len(body)) > limit {
		return nil, noLocation(ErrTooLarge, "the request body exceeds the limit of %d bytes", limit)
	}
	return body, nil
}

// noLocation builds a DecodeError that is not tied to a place in the body.
func noLocation(err error, format string, args ...any) *DecodeError {
	return &DecodeError{Err: err, Index: -1, Offset: -1, Msg: fmt.Sprintf(format, args...)}
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// parser splits a body into detection records and decodes each one.
//
// The split is done by a small byte scanner that only tracks strings,
// bracket depth and member count; it enforces MaxDepth before any value is
// built, so deep input can never blow the stack. Each record is then
// decoded by encoding/json, which also does all syntax checking.
type parser struct {
	body []byte
	opts DecodeOptions
	dets []Detection
	// partial: a record that cannot be decoded, of known extent, goes to
	// bad (see DecodePartial) instead of failing the body.
	partial bool
	bad     map[int]*DecodeError
	// prefix is the field path of the object read when it is not a
	// record but a JSON text one of its fields holds (see jsonTextFault).
	prefix []pathSeg
}

// refuse records the decode error of record idx (partial mode) and puts an
// empty detection in its place.
func (p *parser) refuse(idx int, err error) {
	de, _ := err.(*DecodeError)
	if de == nil {
		de = p.errorf(ErrMalformed, idx, -1, "", "%v", err)
	}
	if p.bad == nil {
		p.bad = map[int]*DecodeError{}
	}
	p.bad[idx] = de
	p.dets = append(p.dets, Detection{})
}

// nextLine is the offset of the '{' that begins the next line after pos
// (after blanks: spaces, tabs, a CR, as parseLines reads a record line):
// where the NDJSON record after a broken one starts; len(body) when there
// is none. A record line indented by blanks is a record like any other
// (Decode reads it), so it is not skipped unanswered.
func (p *parser) nextLine(pos int) int {
	for {
		nl := bytes.IndexByte(p.body[pos:], '\n')
		if nl < 0 {
			return len(p.body)
		}
		pos += nl + 1
		start := pos
		for start < len(p.body) && (p.body[start] == ' ' || p.body[start] == '\t' || p.body[start] == '\r') {
			start++
		}
		if start < len(p.body) && p.body[start] == '{' {
			return start
		}
	}
}

func (p *parser) parse() ([]Detection, error) {
	pos := 0
	if bytes.HasPrefix(p.body, utf8BOM) {
		pos = len(utf8BOM)
	}
	pos = p.skipSpace(pos)
	if pos == len(p.body) {
		return nil, noLocation(ErrEmpty, "the request body is empty or only whitespace")
	}
	switch p.body[pos] {
	case '[':
		return p.parseArray(pos)
	case '{':
		return p.parseLines(pos)
	default:
		return nil, p.errorf(ErrMalformed, -1, pos, "",
			"body must be a JSON object, a JSON array of objects, or NDJSON objects, found %s", describeByte(p.body[pos]))
	}
}

// parseArray reads `[ {...}, {...} ]` starting at the '['.
func (p *parser) parseArray(pos int) ([]Detection, error) {
	pos = p.skipSpace(pos + 1)
	if pos == len(p.body) {
		return nil, p.errorf(ErrMalformed, -1, pos, "", "unexpected end of input: the array is not closed")
	}
	if p.body[pos] == ']' {
		if err := p.arrayEnd(pos); err != nil {
			return nil, err
		}
		return nil, noLocation(ErrEmpty, "the request body is an empty array")
	}
	for {
		idx := len(p.dets)
		end, err := p.record(pos)
		if err != nil {
			return nil, err
		}
		pos = p.skipSpace(end)
		if pos == len(p.body) {
			return nil, p.errorf(ErrMalformed, idx, pos, "", "unexpected end of input: expected ',' or ']' after the detection")
		}
		switch p.body[pos] {
		case ',':
			pos = p.skipSpace(pos + 1)
			if pos == len(p.body) {
				return nil, p.errorf(ErrMalformed, idx+1, pos, "", "unexpected end of input: expected a detection object after ','")
			}
			if p.body[pos] == ']' {
				return nil, p.errorf(ErrMalformed, idx+1, pos, "", "unexpected ']' after ',' (trailing comma)")
			}
		case ']':
			if err := p.arrayEnd(pos); err != nil {
				return nil, err
			}
			return p.dets, nil
		default:
			return nil, p.errorf(ErrMalformed, idx, pos, "", "expected ',' or ']' after the detection, found %s", describeByte(p.body[pos]))
		}
	}
}

// arrayEnd refuses anything but whitespace after the array's closing ']'
// at pos.
func (p *parser) arrayEnd(pos int) error {
	if rest := p.skipSpace(pos + 1); rest != len(p.body) {
		return p.errorf(ErrMalformed, -1, rest, "", "expected nothing after the end of the array, found %s", describeByte(p.body[rest]))
	}
	return nil
}

// parseLines reads one object, or NDJSON: objects separated by line breaks
// (any whitespace, which includes blank lines and CRLF, as long as it holds
// at least one '\n').
func (p *parser) parseLines(pos int) ([]Detection, error) {
	for {
		idx := len(p.dets)
		end, err := p.record(pos)
		if err != nil && p.partial && !errors.Is(err, ErrTooManyDetections) {
			// This line is refused alone; the next record starts on
			// the next line whose first non-blank byte is '{'.
			p.refuse(idx, err)
			if pos = p.nextLine(pos); pos == len(p.body) {
				return p.dets, nil
			}
			continue
		} else if err != nil {
			return nil, err
		}
		next := p.skipSpace(end)
		if next == len(p.body) {
			return p.dets, nil
		}
		if bytes.IndexByte(p.body[end:next], '\n') < 0 {
			return nil, p.errorf(ErrMalformed, idx, next, "",
				"expected a line break after the detection object (NDJSON has one object per line), found %s", describeByte(p.body[next]))
		}
		pos = next
	}
}

// record decodes the detection object that starts at pos and appends it to
// p.dets. It returns the offset just past the object.
//
// The fast path is encoding/json's Decoder plus an in-place number
// conversion. A syntax error is located with json.Unmarshal; a duplicate
// key or a number out of range makes the record be re-read token by token
// (diagnose) to name the exact offset and field path.
func (p *parser) record(pos int) (int, error) {
	idx := len(p.dets)
	if idx >= p.opts.MaxDetections {
		return 0, p.errorf(ErrTooManyDetections, idx, pos, "", "more than %d detections in one request: split it into requests of at most %d", p.opts.MaxDetections, p.opts.MaxDetections)
	}
	if p.body[pos] != '{' {
		return 0, p.errorf(ErrMalformed, idx, pos, "", "a detection must be a JSON object, found %s", describeByte(p.body[pos]))
	}
	end, members, err := p.scanObject(idx, pos)
	if errors.Is(err, ErrTooDeep) && p.partial {
		// Read to its end without building it: refused alone.
		if end, ok := p.objectEnd(pos); ok {
			p.refuse(idx, err)
			return end, nil
		}
	}
	if err != nil {
		return 0, err
	}
	raw := p.body[pos:end]
	if off, what := notUTF8(raw); off >= 0 {
		err := p.errorf(ErrMalformed, idx, pos+off, "", "%s: JSON text must be UTF-8 (RFC 8259 §8.1), convert it before sending it", what)
		if p.partial {
			// The object was read to its end: refused alone.
			p.refuse(idx, err)
			return end, nil
		}
		return 0, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || dec.InputOffset() != int64(len(raw)) {
		return 0, p.syntaxError(idx, pos, raw)
	}
	// Every ':' outside strings separates one object member, so fewer map
	// entries than colons means a key was repeated somewhere.
	n, ok := convertNumbers(m)
	if !ok || n != members {
		err := p.diagnose(idx, pos, raw)
		if p.partial {
			// The object was read to its end: refused alone.
			p.refuse(idx, err)
			return end, nil
		}
		return 0, err
	}
	p.dets = append(p.dets, Detection(m))
	return end, nil
}

// scanObject finds the end of the object that starts at start, counting
// brackets outside strings and enforcing MaxDepth. It also counts the
// object members (':' outside strings) of all nested objects. It does not
// validate the JSON; encoding/json does that on the returned range.
func (p *parser) scanObject(idx, start int) (end, members int, err error) {
	b := p.body
	depth := 0
	for i := start; i < len(b); i++ {
		switch b[i] {
		case '"':
			// Skip the string: find the closing quote, stepping over escapes.
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case ':':
			members++
		case '{', '[':
			depth++
			if depth > p.opts.MaxDepth {
				return 0, 0, p.errorf(ErrTooDeep, idx, i, "", "nesting exceeds the maximum depth of %d levels", p.opts.MaxDepth)
			}
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, members, nil
			}
		}
	}
	// Unclosed: let encoding/json name the first real problem.
	return 0, 0, p.syntaxError(idx, start, b[start:])
}

// objectEnd is the end of the object that starts at start, found by
// counting brackets outside strings at any depth (nothing is built).
func (p *parser) objectEnd(start int) (int, bool) {
	b := p.body
	depth := 0
	for i := start; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		}
	}
	return 0, false
}

// convertNumbers replaces the json.Number values in v, in place, by int or
// float64 (see numberValue) and returns how many object members v holds.
// ok is false if a number is out of float64 range.
func convertNumbers(v any) (members int, ok bool) {
	switch x := v.(type) {
	case map[string]any:
		return convertAll(len(x), maps.All(x), func(k string, n any) { x[k] = n })
	case []any:
		return convertAll(0, slices.All(x), func(i int, n any) { x[i] = n })
	}
	return 0, true
}

// convertAll converts the members or elements of one object or array:
// set replaces a number, a container is converted in place.
func convertAll[K any](members int, all iter.Seq2[K, any], set func(K, any)) (int, bool) {
	for k, e := range all {
		if n, isNum := e.(json.Number); isNum {
			v, ok := numberValue(n)
			if !ok {
				return 0, false
			}
			set(k, v)
			continue
		}
		c, ok := convertNumbers(e)
		if !ok {
			return 0, false
		}
		members += c
	}
	return members, true
}

// numberValue converts a JSON number: integer literals that fit an int
// and integral values within ±2^53 (1.0, 1e3) become int, the rest
// float64. ok is false when the number overflows float64.
func numberValue(n json.Number) (v any, ok bool) {
	s := string(n)
	if i, err := strconv.ParseInt(s, 10, strconv.IntSize); err == nil {
		return int(i), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && (math.IsInf(f, 0) || math.IsNaN(f)) {
		return nil, false
	}
	if f == math.Trunc(f) && math.Abs(f) <= maxExactInt {
		return int(f), true
	}
	return f, true
}

// syntaxError reports the JSON syntax error in raw, which starts at base in
// the body.
func (p *parser) syntaxError(idx, base int, raw []byte) error {
	err := json.Unmarshal(raw, new(json.RawMessage))
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		msg := "invalid JSON"
		if err != nil {
			msg = err.Error()
		}
		return p.errorf(ErrMalformed, idx, base, "", "%s", msg)
	}
	off := int(se.Offset)
	msg := se.Error()
	if strings.HasPrefix(msg, "unexpected end of JSON input") {
		msg = "unexpected end of input: the object is not closed"
	} else if off > 0 {
		off-- // Offset counts the offending byte itself
	}
	return p.errorf(ErrMalformed, idx, base+off, "", "%s", msg)
}

func (p *parser) skipSpace(pos int) int {
	for pos < len(p.body) {
		switch p.body[pos] {
		case ' ', '\t', '\n', '\r':
			pos++
		default:
			return pos
		}
	}
	return pos
}

func (p *parser) errorf(kind error, idx, off int, path, format string, args ...any) *DecodeError {
	line, col := lineColumn(p.body, off)
	return &DecodeError{
		Err:    kind,
		Index:  idx,
		Line:   line,
		Column: col,
		Offset: int64(off),
		Path:   path,
		Msg:    fmt.Sprintf(format, args...),
	}
}

// lineColumn converts a byte offset to a 1-based line and byte column.
func lineColumn(b []byte, off int) (line, col int) {
	off = min(max(off, 0), len(b))
	prefix := b[:off]
	line = 1 + bytes.Count(prefix, []byte{'\n'})
	col = off - (bytes.LastIndexByte(prefix, '\n') + 1) + 1
	return line, col
}

// describeByte names what a value starting with c would be, for messages.
func describeByte(c byte) string {
	switch {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c >= 0x20 && c < 0x7f:
		return fmt.Sprintf("invalid character %q", c)
	default:
		return fmt.Sprintf("invalid byte 0x%02X", c)
	}
}

// notUTF8 is the offset in b of the first byte that is not UTF-8 text, or
// of the first \u escape of a lone UTF-16 surrogate inside a string, with
// what it is; -1 when there is none. encoding/json reads both as U+FFFD
// without a word, so two ids that differ only there would become one (the
// second finding deduplicated to the first's run), and the detection
// passed on would not be the one sent.
func notUTF8(b []byte) (int, string) {
	if utf8.Valid(b) && !bytes.Contains(b, []byte(`\ud`)) && !bytes.Contains(b, []byte(`\uD`)) {
		return -1, ""
	}
	inString := false
	for i := 0; i < len(b); {
		c := b[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, fmt.Sprintf("invalid UTF-8 (byte 0x%02X)", c)
			}
			i += size
			continue
		}
		switch {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			if r, ok := hex4(b, i+2); ok && b[i+1] == 'u' && utf16.IsSurrogate(rune(r)) {
				if r >= 0xDC00 {
					return i, fmt.Sprintf(`an unpaired UTF-16 surrogate \u%04X`, r)
				}
				if lo, ok := hex4(b, i+8); ok && b[i+6] == '\\' && b[i+7] == 'u' && lo >= 0xDC00 && lo <= 0xDFFF {
					i += 12
					continue
				}
				return i, fmt.Sprintf(`an unpaired UTF-16 surrogate \u%04X`, r)
			}
			i += 2 // the escaped byte cannot end the string
			continue
		}
		i++
	}
	return -1, ""
}

// hex4 reads the four hex digits at b[i:i+4].
func hex4(b []byte, i int) (uint16, bool) {
	if i < 0 || i+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[i:i+4]), 16, 16)
	return uint16(n), err == nil
}

// jsonTextFault is what the intake refuses in a record — a key given twice
// (encoding/json reads the last value without a word), a lone UTF-16
// surrogate escape (U+FFFD, see notUTF8), a number out of float64's range
// (encoding/json fails, so the view would not read the text) — found in the JSON object
// text s that the record's field at prefix holds (an `unmapped` text), or
// nil. A text that is no JSON object (cut short, anything but blanks
// after the object: finding.UnmappedText does not read it) has no such
// fault: the caller says it is not read. The error's Offset is in s, its
// Path starts with prefix.
func jsonTextFault(s string, prefix []pathSeg) *DecodeError {
	p := &parser{body: []byte(s), opts: DecodeOptions{MaxDepth: math.MaxInt}.withDefaults(), prefix: prefix}
	start := p.skipSpace(0)
	if start == len(p.body) || p.body[start] != '{' {
		return nil
	}
	end, members, err := p.scanObject(-1, start)
	if err != nil || p.skipSpace(end) != len(p.body) {
		return nil
	}
	raw := p.body[start:end]
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil || dec.InputOffset() != int64(len(raw)) || m == nil {
		return nil
	}
	if off, what := notUTF8(p.body); off >= 0 {
		return p.errorf(ErrMalformed, -1, off, formatSegs(prefix), "%s: JSON text must be UTF-8 (RFC 8259 §8.1), convert it before sending it", what)
	}
	// As in record: a number out of range, or fewer members than colons
	// (a key repeated), is located token by token.
	if n, ok := convertNumbers(m); ok && n == members {
		return nil
	}
	de, _ := p.diagnose(-1, start, raw).(*DecodeError)
	return de
}
