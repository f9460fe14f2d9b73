package intake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/riposte-dev/riposte/internal/mdtext"
)

// maxExactInt is 2^53: every integer up to it in magnitude is exact in a
// float64.
const maxExactInt = 1 << 53

// builder reads one record token by token (slow, but it knows where it is)
// to diagnose duplicate keys and out-of-range numbers.
type builder struct {
	p    *parser
	dec  *json.Decoder
	idx  int
	base int
	path []pathSeg
	// tokStart is the body offset where the last token read by next starts.
	tokStart int
}

// diagnose re-reads a record that the fast path refused, token by token,
// and returns the first problem with its exact offset and field path.
func (p *parser) diagnose(idx, base int, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	b := &builder{p: p, dec: dec, idx: idx, base: base, path: slices.Clone(p.prefix)}
	tok, err := b.next()
	if err == nil {
		_, err = b.value(tok, 1)
	}
	if err == nil { // the fast path and this one disagree; should not happen
		err = p.errorf(ErrMalformed, idx, base, "", "the detection object could not be decoded")
	}
	return err
}

func (b *builder) next() (json.Token, error) {
	// The decoder's offset is just past the previous token; the next one
	// starts after whitespace and at most one ',' or ':'.
	b.tokStart = b.p.skipSpace(b.base + int(b.dec.InputOffset()))
	if b.tokStart < len(b.p.body) && (b.p.body[b.tokStart] == ',' || b.p.body[b.tokStart] == ':') {
		b.tokStart = b.p.skipSpace(b.tokStart + 1)
	}
	tok, err := b.dec.Token()
	if err != nil { // the fast path already accepted the syntax; never trust that
		return nil, b.fail(ErrMalformed, "%v", err)
	}
	return tok, nil
}

// fail reports an error at the start of the last token read.
func (b *builder) fail(kind error, format string, args ...any) error {
	return b.p.errorf(kind, b.idx, b.tokStart, formatSegs(b.path), format, args...)
}

func (b *builder) value(tok json.Token, depth int) (any, error) {
	switch t := tok.(type) {
	case json.Delim:
		if depth > b.p.opts.MaxDepth { // already enforced by scanObject
			return nil, b.fail(ErrTooDeep, "nesting exceeds the maximum depth of %d levels", b.p.opts.MaxDepth)
		}
		switch t {
		case '{':
			return b.object(depth)
		case '[':
			return b.array(depth)
		}
		return nil, b.fail(ErrMalformed, "unexpected %q", rune(t))
	case json.Number:
		return b.number(t)
	case string:
		return t, nil
	case bool:
		return t, nil
	case nil:
		return nil, nil
	default:
		return nil, b.fail(ErrMalformed, "unexpected token %T", tok)
	}
}

func (b *builder) object(depth int) (map[string]any, error) {
	m := make(map[string]any)
	for b.dec.More() {
		tok, err := b.next()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, b.fail(ErrMalformed, "object key is not a string")
		}
		b.path = append(b.path, pathSeg{key: key})
		if _, dup := m[key]; dup {
			return nil, b.fail(ErrMalformed, "duplicate key: each key may appear only once in an object")
		}
		tok, err = b.next()
		if err != nil {
			return nil, err
		}
		v, err := b.value(tok, depth+1)
		if err != nil {
			return nil, err
		}
		m[key] = v
		b.path = b.path[:len(b.path)-1]
	}
	if _, err := b.next(); err != nil { // '}'
		return nil, err
	}
	return m, nil
}

func (b *builder) array(depth int) ([]any, error) {
	a := make([]any, 0)
	for i := 0; b.dec.More(); i++ {
		b.path = append(b.path, pathSeg{index: i, isIndex: true})
		tok, err := b.next()
		if err != nil {
			return nil, err
		}
		v, err := b.value(tok, depth+1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		b.path = b.path[:len(b.path)-1]
	}
	if _, err := b.next(); err != nil { // ']'
		return nil, err
	}
	return a, nil
}

// maxNumberEcho is how much of a number out of range its error quotes.
const maxNumberEcho = 40

// number converts a JSON number like numberValue, or fails. A number
// longer than maxNumberEcho is quoted cut, marked so and with its length:
// cut bare, 10**400 would read as 1e39, in range.
func (b *builder) number(n json.Number) (any, error) {
	v, ok := numberValue(n)
	if !ok {
		quoted := string(n)
		if len(quoted) > maxNumberEcho {
			quoted = fmt.Sprintf("%s… (%d characters)", mdtext.Clip(quoted, maxNumberEcho), len(n))
		}
		return nil, b.fail(ErrMalformed, "number %s is out of range", quoted)
	}
	return v, nil
}
