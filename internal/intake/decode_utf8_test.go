package intake

import (
	"errors"
	"strings"
	"testing"
)

// TestDecodeRefusesTextThatIsNotUTF8: JSON text is UTF-8 (RFC 8259 §8.1).
// encoding/json replaces an invalid byte, and an unpaired surrogate escape,
// by U+FFFD without a word, so two different findings whose ids differ only
// there ("p\xff1", "p\xfe1") became the same "p\uFFFD1": the second was
// answered "deduplicated" to the first one's run and never started its
// own, and the detection kept in the run was not the one sent. Such a
// record is refused, located by line and column (alone under ?partial).
func TestDecodeRefusesTextThatIsNotUTF8(t *testing.T) {
	ok := `{"a":1}`
	for _, tc := range []struct {
		name, body, where string
	}{
		{"an invalid byte in a value", `{"finding_info":{"uid":"p` + "\xff" + `1"}}`, "line 1, column 26"},
		{"an invalid byte in a key", `{"a` + "\xfe" + `":1}`, "line 1, column 4"},
		{"a cut multi-byte sequence", `{"a":"caf` + "\xc3" + `"}`, "line 1, column 10"},
		{"an encoded surrogate (CESU-8)", `{"a":"` + "\xed\xa0\x80" + `"}`, "line 1, column 7"},
		{"an unpaired high surrogate escape", `{"a":"p\ud8001"}`, "line 1, column 8"},
		{"an unpaired low surrogate escape", `{"a":"\udc00"}`, "line 1, column 7"},
		// A low surrogate is never the first of a pair, even before another.
		{"two low surrogate escapes", `{"a":"\udc00\udc01"}`, "line 1, column 7"},
		{"a high surrogate escape followed by no low one", `{"a":"\ud800\u0041"}`, "line 1, column 7"},
		{"on the second NDJSON line", ok + "\n" + `{"b":"` + "\x80" + `"}`, "line 2, column 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.body), DecodeOptions{})
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode: %v, want a malformed-JSON DecodeError", err)
			}
			if d := de.Detail(); !strings.Contains(d, tc.where) || !strings.Contains(d, "UTF-8") {
				t.Errorf("detail %q, want it located at %s and naming UTF-8", d, tc.where)
			}
		})
	}

	// Valid text stays accepted: multi-byte characters, escapes of them,
	// a surrogate pair escaped, U+FFFD itself.
	good := `{"a":"café \u00e9 \ud83d\ude00 😀 ` + "\uFFFD" + ` \\ud800"}`
	dets, err := Decode(strings.NewReader(good), DecodeOptions{})
	if err != nil || dets[0]["a"] != "café é 😀 😀 \uFFFD \\ud800" {
		t.Fatalf("valid UTF-8: %v %q", err, dets)
	}

	// Under ?partial, the record is refused alone.
	body := ok + "\n" + `{"a":"` + "\xff" + `"}` + "\n" + ok + "\n"
	dets, bad, err := DecodePartial(strings.NewReader(body), DecodeOptions{})
	if err != nil || len(dets) != 3 || len(bad) != 1 || bad[1] == nil || !strings.Contains(bad[1].Detail(), "UTF-8") {
		t.Fatalf("partial: %d detections, bad %v, err %v", len(dets), bad, err)
	}
}
