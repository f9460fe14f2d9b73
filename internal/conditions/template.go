package conditions

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Template is a string that may hold ${{ expr }} placeholders. A template
// that is exactly one placeholder renders to the expression's own value (a
// list stays a list); otherwise placeholders are formatted into the string.
type Template struct {
	parts  []part
	single *Program
}

type part struct {
	lit  string
	prog *Program
	at   int // the byte offset of prog's Source in the template
}

// IsTemplate reports whether s holds a ${{ placeholder.
func IsTemplate(s string) bool { return strings.Contains(s, "${{") }

// CompileTemplate compiles the placeholders of s. Error positions are
// relative to the start of s.
func CompileTemplate(s string, sc Scope) (*Template, error) {
	t := &Template{}
	rest, offset := s, 0
	for {
		i := strings.Index(rest, "${{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, part{lit: rest})
			}
			break
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: rest[:i]})
		}
		j := placeholderEnd(rest[i+3:])
		if j < 0 {
			line, col := position(s, offset+i)
			return nil, &Error{Line: line, Column: col, Msg: "unclosed ${{ (missing }})"}
		}
		src := rest[i+3 : i+3+j]
		prog, err := Compile(src, sc, false)
		if err != nil {
			ce := err.(*Error)
			// Map the position inside the placeholder back into s.
			start := offset + i + 3
			if ce.Line == 1 {
				line, col := position(s, start+byteOffset(src, ce.Column-1))
				ce.Line, ce.Column = line, col
			} else {
				sl, _ := position(s, start)
				ce.Line += sl - 1
			}
			return nil, ce
		}
		t.parts = append(t.parts, part{prog: prog, at: offset + i + 3})
		consumed := i + 3 + j + 2
		rest = rest[consumed:]
		offset += consumed
	}
	if len(t.parts) == 1 && t.parts[0].prog != nil && strings.TrimSpace(s) == s {
		t.single = t.parts[0].prog
	}
	return t, nil
}

// placeholderEnd returns the byte index of the "}}" that closes a
// placeholder whose expression starts at src[0], or -1. A "}}" inside one of
// expr's string literals ("...", '...', `...`) or closing a map literal
// ({"a": {"b": 1}}) belongs to the expression, not to the placeholder;
// quotes and braces in a comment (/* */, //) are neither.
func placeholderEnd(src string) int {
	depth := 0
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '"', '\'', '`':
			// Skip to the literal's closing quote; a backslash escapes the
			// next byte except in a raw (backtick) string. Past an
			// unterminated literal the first "}}" ends the placeholder, so
			// that the compiler names the literal.
			j := i + 1
			for ; j < len(src) && src[j] != c; j++ {
				if c != '`' && src[j] == '\\' {
					j++
				}
			}
			if j >= len(src) {
				return strings.Index(src, "}}")
			}
			i = j
		case '/':
			// expr's comments: a quote or brace in one ("it's", "{") is
			// neither a literal nor a map. A "}}" in a // comment ends the
			// placeholder (the comment ends with it); past an unterminated
			// /* the first "}}" does, so that the compiler names it.
			if i+1 >= len(src) {
				continue
			}
			switch src[i+1] {
			case '/':
				for j := i + 2; j < len(src) && src[j] != '\n'; j++ {
					if depth == 0 && strings.HasPrefix(src[j:], "}}") {
						return j
					}
					i = j
				}
				i++
			case '*':
				end := strings.Index(src[i+2:], "*/")
				if end < 0 {
					if k := strings.Index(src[i:], "}}"); k >= 0 {
						return i + k
					}
					return -1
				}
				i += 2 + end + 1
			}
		case '{':
			depth++
		case '}':
			if depth == 0 {
				if i+1 < len(src) && src[i+1] == '}' {
					return i
				}
				continue
			}
			depth--
		}
	}
	return -1
}

// byteOffset converts a rune index into a byte index of s.
func byteOffset(s string, runes int) int {
	n := 0
	for i := range s {
		if n == runes {
			return i
		}
		n++
	}
	return len(s)
}

// position returns the 1-based line and rune column of byte offset off in s.
func position(s string, off int) (int, int) {
	line, col := 1, 1
	for i, r := range s {
		if i >= off {
			break
		}
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// Programs lists the compiled placeholders, in order.
func (t *Template) Programs() []*Program {
	var out []*Program
	for _, p := range t.parts {
		if p.prog != nil {
			out = append(out, p.prog)
		}
	}
	return out
}

// Render evaluates the template.
func (t *Template) Render(env map[string]any) (any, error) {
	if t.single != nil {
		v, err := t.single.Eval(env)
		if s, ok := v.(string); ok && len(s) > MaxRenderBytes {
			return nil, fmt.Errorf("rendered string is longer than %d bytes", MaxRenderBytes)
		}
		return v, err
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.lit)
		} else {
			v, err := p.prog.Eval(env)
			if err != nil {
				return nil, err
			}
			b.WriteString(Format(v))
		}
		if b.Len() > MaxRenderBytes {
			return nil, fmt.Errorf("rendered string is longer than %d bytes", MaxRenderBytes)
		}
	}
	return b.String(), nil
}

// Format turns a value into the text a template shows for it.
func Format(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case fmt.Stringer:
		return x.String()
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

// Value is a compiled `with` value: a scalar, a template, or nested lists and
// maps of them.
type Value struct {
	lit  any
	tmpl *Template
	list []*Value
	obj  map[string]*Value
	keys []string // sorted keys of obj, for deterministic walking
}

// PathError is a compile error at a path inside a nested value.
type PathError struct {
	Path string // e.g. "hostname" or "headers.X-Id" or "ids[1]"
	Err  *Error
}

// CompileValue compiles every template inside v (as decoded from YAML or
// JSON). All errors are returned, with their paths.
func CompileValue(v any, sc Scope) (*Value, []PathError) {
	var errs []PathError
	out := compileValue(v, sc, "", &errs)
	return out, errs
}

func compileValue(v any, sc Scope, path string, errs *[]PathError) *Value {
	switch x := v.(type) {
	case string:
		if !IsTemplate(x) {
			return &Value{lit: x}
		}
		t, err := CompileTemplate(x, sc)
		if err != nil {
			*errs = append(*errs, PathError{Path: path, Err: err.(*Error)})
			return &Value{lit: x}
		}
		return &Value{tmpl: t}
	case []any:
		out := &Value{list: make([]*Value, len(x))}
		for i, e := range x {
			out.list[i] = compileValue(e, sc, fmt.Sprintf("%s[%d]", path, i), errs)
		}
		return out
	case map[string]any:
		out := &Value{obj: make(map[string]*Value, len(x))}
		for k := range x {
			out.keys = append(out.keys, k)
		}
		sort.Strings(out.keys) // also keeps the order of errors stable
		for _, k := range out.keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			out.obj[k] = compileValue(x[k], sc, p, errs)
		}
		return out
	default:
		return &Value{lit: x}
	}
}

// IsLiteral reports whether the value holds no template at all.
func (v *Value) IsLiteral() bool { return v.tmpl == nil && v.list == nil && v.obj == nil }

// Programs lists every compiled placeholder inside the value, in a stable
// order, each with its path relative to the value.
func (v *Value) Programs() []PathProgram {
	var out []PathProgram
	var walk func(*Value, string)
	walk = func(v *Value, path string) {
		if v == nil {
			return
		}
		if v.tmpl != nil {
			for _, p := range v.tmpl.parts {
				if p.prog != nil {
					out = append(out, PathProgram{Path: path, Prog: p.prog, At: p.at})
				}
			}
		}
		for i, e := range v.list {
			walk(e, fmt.Sprintf("%s[%d]", path, i))
		}
		for _, k := range v.keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			walk(v.obj[k], p)
		}
	}
	walk(v, "")
	return out
}

// PathProgram is a placeholder found at a path inside a Value.
type PathProgram struct {
	Path string
	Prog *Program
	// At is the byte offset of Prog's Source in the template text at Path.
	At int
}

// Literal returns the value when it holds no template (IsLiteral).
func (v *Value) Literal() any { return v.lit }

// Single reports whether the value is exactly one ${{ }} placeholder, whose
// type is only known at run time.
func (v *Value) Single() bool { return v.tmpl != nil && v.tmpl.single != nil }

// Field returns the compiled value of one key of an object value.
func (v *Value) Field(k string) (*Value, bool) {
	if v == nil || v.obj == nil {
		return nil, false
	}
	f, ok := v.obj[k]
	return f, ok
}

// Render evaluates every template in the value.
func (v *Value) Render(env map[string]any) (any, error) {
	switch {
	case v == nil:
		return nil, nil
	case v.tmpl != nil:
		return v.tmpl.Render(env)
	case v.list != nil:
		out := make([]any, len(v.list))
		for i, e := range v.list {
			r, err := e.Render(env)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	case v.obj != nil:
		out := make(map[string]any, len(v.obj))
		for _, k := range v.keys {
			r, err := v.obj[k].Render(env)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	default:
		return v.lit, nil
	}
}
