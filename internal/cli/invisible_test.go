package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// The escaping writer escapes "bidi or invisible format characters"
// (escape.go): every one, not a hand-picked few. U+061C ARABIC LETTER
// MARK is a bidi control like U+200F; U+2060-U+2064 are invisible; the
// tag characters U+E0000-U+E007F spell hidden ASCII (the "ASCII
// smuggling" of prompt injection) that a terminal does not show. In
// JSON output the escape must still decode to the same character, so one
// beyond U+FFFF is written as its UTF-16 surrogate pair.
func TestOutputEscapesEveryFormatCharacter(t *testing.T) {
	hidden := "\U000E0069\U000E0067\U000E006E\U000E006F\U000E0072\U000E0065" // "ignore" in tag characters
	for _, in := range []string{"ws1\u061c", "ws\u20601", "ws\u20641", "approve" + hidden, "x\u00ady", "a\ufff9b\ufffbc"} {
		var b bytes.Buffer
		s := escapeStreams(Streams{Out: &b})
		writeJSONTo(s.Out, map[string]string{"host": in})
		got := b.String()
		for _, r := range in {
			if r > 0x7e && strings.ContainsRune(got, r) {
				t.Errorf("%+q: output still holds %U: %q", in, r, got)
			}
		}
		var back map[string]string
		if err := json.Unmarshal(b.Bytes(), &back); err != nil || back["host"] != in {
			t.Errorf("%+q: JSON output %q decodes to %+q (%v)", in, got, back["host"], err)
		}
	}
}
