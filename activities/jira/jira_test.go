package jira

import (
	"encoding/json"
	"strings"
	"testing"
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
