package yamlx

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// maxAliasChain bounds an alias to an alias to ...: anchors work, loops end.
const maxAliasChain = 16

// Resolve follows aliases so that anchors work.
func Resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxAliasChain; i++ {
		n = n.Alias
	}
	return n
}

// IsNull reports an empty value (`key:`, `~`, `null`).
func IsNull(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// IsString reports a scalar that is not null (numbers and bools count: YAML
// users write `version: 2` for a string).
func IsString(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Tag != "!!null"
}

// KindName describes what n is, for "must be X, got Y" messages.
func KindName(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a bool"
		}
		return "a string"
	}
	return "an alias"
}

// Entry is one key: value of a mapping, the value resolved.
type Entry struct {
	Key, Value *yaml.Node
}

// Entries returns a mapping's entries in order, without checks.
func Entries(n *yaml.Node) []Entry {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]Entry, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, Entry{n.Content[i], Resolve(n.Content[i+1])})
	}
	return out
}

// Mapping returns a mapping's entries in order, refusing non-string and
// duplicate keys. ok is false when n is not a mapping. what names the
// mapping in messages.
func (r *Reporter) Mapping(n *yaml.Node, what string) ([]Entry, bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		r.Errorf(n, "%s must be a mapping, got %s", what, KindName(n))
		return nil, false
	}
	var out []Entry
	seen := map[string]*yaml.Node{}
	for _, e := range Entries(n) {
		if e.Key.Kind != yaml.ScalarNode || e.Key.Tag == "!!null" {
			r.Errorf(e.Key, "%s: keys must be strings", what)
			continue
		}
		if e.Key.Tag == "!!merge" {
			// yaml.v3's nodes leave << to the reader; taken as a key, the
			// merged values would land under "<<" instead.
			r.Errorf(e.Key, "%s: merge keys (<<) are not supported; write the keys out (an alias of a whole mapping works)", what)
			continue
		}
		if first, dup := seen[e.Key.Value]; dup {
			r.Errorf(e.Key, "%s: duplicate key %q (first on line %d)", what, e.Key.Value, first.Line)
			continue
		}
		seen[e.Key.Value] = e.Key
		out = append(out, e)
	}
	return out, true
}

// Fields reads a mapping whose keys must be among allowed, by key.
func (r *Reporter) Fields(n *yaml.Node, what string, allowed ...string) (map[string]*yaml.Node, bool) {
	es, ok := r.Mapping(n, what)
	if !ok {
		return nil, false
	}
	out := make(map[string]*yaml.Node, len(es))
	for _, e := range es {
		if !Contains(allowed, e.Key.Value) {
			r.Errorf(e.Key, "%s: unknown key %q%s", what, e.Key.Value, DidYouMean(e.Key.Value, allowed))
			continue
		}
		out[e.Key.Value] = e.Value
	}
	return out, true
}

// Require reports a missing required key of the mapping n.
func (r *Reporter) Require(n *yaml.Node, fields map[string]*yaml.Node, what, key string) bool {
	if _, ok := fields[key]; !ok {
		r.Errorf(n, "%s: missing required key %q", what, key)
		return false
	}
	return true
}

// String reads a non-empty string scalar.
func (r *Reporter) String(n *yaml.Node, path string) (string, bool) {
	n = Resolve(n)
	if !IsString(n) {
		r.Errorf(n, "%s must be a string, got %s", path, KindName(n))
		return "", false
	}
	if strings.TrimSpace(n.Value) == "" {
		r.Errorf(n, "%s must not be empty", path)
		return "", false
	}
	return n.Value, true
}

// Bool reads true or false.
func (r *Reporter) Bool(n *yaml.Node, path string) (bool, bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		r.Errorf(n, "%s must be true or false, got %s", path, KindName(n))
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		r.Errorf(n, "%s: %v", path, err)
		return false, false
	}
	return b, true
}

// Int reads an integer of at least minimum.
func (r *Reporter) Int(n *yaml.Node, path string, minimum int) (int, bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		r.Errorf(n, "%s must be an integer, got %s", path, KindName(n))
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil || v < int64(minimum) {
		r.Errorf(n, "%s must be an integer of at least %d, got %s", path, minimum, n.Value)
		return 0, false
	}
	return int(v), true
}

// Enum reads a string that must be one of values.
func (r *Reporter) Enum(n *yaml.Node, path string, values []string) (string, bool) {
	s, ok := r.String(n, path)
	if !ok {
		return "", false
	}
	if !Contains(values, s) {
		r.Errorf(n, "%s: %q is not one of %s%s", path, s, strings.Join(values, ", "), DidYouMean(s, values))
		return "", false
	}
	return s, true
}

// StringList reads a list of non-empty strings.
func (r *Reporter) StringList(n *yaml.Node, path string) ([]string, bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		r.Errorf(n, "%s must be a list of strings, got %s", path, KindName(n))
		return nil, false
	}
	out := []string{}
	ok := true
	for i, e := range n.Content {
		s, good := r.String(e, fmt.Sprintf("%s[%d]", path, i))
		if good {
			out = append(out, s)
		}
		ok = ok && good
	}
	return out, ok
}

// Strings reads a string or a list of strings.
func (r *Reporter) Strings(n *yaml.Node, path string) ([]string, bool) {
	if n = Resolve(n); n != nil && n.Kind == yaml.ScalarNode {
		s, ok := r.String(n, path)
		return []string{s}, ok
	}
	return r.StringList(n, path)
}

// Contains reports whether list holds s.
func Contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Join appends key to a dotted path.
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// NonASCII names the first character of the scalar n that is not ASCII,
// for the message refusing an id or name that must be: a Cyrillic о or
// е pasted into "lookup" looks like the ASCII letter, and a refusal that
// does not name it reads as a refusal of the valid id. The column is
// given where ValueColumn finds it in src (the source n was decoded
// from). "" when every character is ASCII.
func NonASCII(n *yaml.Node, src []byte) string {
	if n == nil {
		return ""
	}
	for i, c := range []rune(n.Value) {
		if c < utf8.RuneSelf {
			continue
		}
		at := ""
		if col, ok := ValueColumn(n, src, i); ok {
			at = fmt.Sprintf(" at column %d", col)
		}
		return fmt.Sprintf("; %q (U+%04X)%s is not ASCII", string(c), c, at)
	}
	return ""
}
