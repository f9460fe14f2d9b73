package intake

import (
	"strconv"
	"strings"

	"github.com/riposte-dev/riposte/internal/mdtext"
)

// pathSeg is one step of a field path: an object key or an array index.
type pathSeg struct {
	key     string
	index   int
	isIndex bool
}

// maxPathKey bounds how much of one (possibly AI-written) key is echoed
// back in a path.
const maxPathKey = 64

// formatSegs renders a path in the package's format:
// finding_info.uid, attacks[0].technique.uid, unmapped["a.b"].
func formatSegs(segs []pathSeg) string {
	var b strings.Builder
	for i, s := range segs {
		switch {
		case s.isIndex:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		case isPlainKey(s.key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		default:
			b.WriteByte('[')
			if len(s.key) > maxPathKey {
				b.WriteString(strconv.Quote(mdtext.Clip(s.key, maxPathKey)))
				b.WriteString("…")
			} else {
				b.WriteString(strconv.Quote(s.key))
			}
			b.WriteByte(']')
		}
	}
	return b.String()
}

// isPlainKey reports whether key can be written bare in a dotted path.
func isPlainKey(key string) bool {
	if key == "" || len(key) > maxPathKey {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// locationSegs turns a JSON-pointer token list (as reported by the schema
// library) into path segments, using the instance to tell array indices
// from object keys. It also returns the value at that location, if any.
func locationSegs(inst any, tokens []string) ([]pathSeg, any, bool) {
	segs := make([]pathSeg, 0, len(tokens))
	cur, found := inst, true
	for _, tok := range tokens {
		if arr, ok := cur.([]any); ok && found {
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 {
				segs = append(segs, pathSeg{index: i, isIndex: true})
				if i < len(arr) {
					cur = arr[i]
				} else {
					cur, found = nil, false
				}
				continue
			}
		}
		segs = append(segs, pathSeg{key: tok})
		if m, ok := cur.(map[string]any); ok && found {
			cur, found = m[tok]
		} else {
			cur, found = nil, false
		}
	}
	return segs, cur, found
}
