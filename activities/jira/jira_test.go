package jira

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestADFIsPlainText(t *testing.T) {
	doc := adfDoc("line one\r\nline two\n\n<b>*markup* [link](http://x)</b>\x07\n\n\n")
	b, _ := json.Marshal(doc)
	want := `{"content":[{"content":[{"text":"line one","type":"text"},{"type":"hardBreak"},{"text":"line two","type":"text"}],"type":"paragraph"},` +
		`{"content":[{"text":"\u003cb\u003e*markup* [link](http://x)\u003c/b\u003e","type":"text"}],"type":"paragraph"}],"type":"doc","version":1}`
	if string(b) != want {
		t.Errorf("adf =\n%s\nwant\n%s", b, want)
	}
	if b, _ := json.Marshal(adfDoc("")); !strings.Contains(string(b), `"content":[{"content":[],"type":"paragraph"}]`) {
		t.Errorf("empty adf = %s", b)
	}
}

// Jira counts its 255-character summary limit as Java does (UTF-16 code
// units): a title of emoji is cut to 255 units, not 255 runes (up to 510
// units, refused with 400), and control and bidi characters are dropped.
func TestSummaryFitsJiraLimit(t *testing.T) {
	for _, in := range []string{"Alert " + strings.Repeat("🔥", 300), strings.Repeat("a", 300), "x\x1b[31my\u202Ez"} {
		got := jiraSummary(in)
		if n := len(utf16.Encode([]rune(got))); n > 255 {
			t.Errorf("summary of %d UTF-16 units (%d runes)", n, len([]rune(got)))
		}
		if strings.ContainsAny(got, "\x1b\u202E") {
			t.Errorf("summary keeps control or bidi characters: %q", got)
		}
	}
	if got := jiraSummary(strings.Repeat("🔥", 200)); !strings.HasSuffix(got, "…") || len(utf16.Encode([]rune(got))) != 255 {
		t.Errorf("cut = %d units", len(utf16.Encode([]rune(got))))
	}
}
