package intake

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/finding"
)

// TestUnmappedTextIsCheckedLikeTheRecord: an `unmapped` JSON text (Amazon
// Security Lake's OCSF 1.1 tables hold unmapped as one; the view walks it
// for entities like the object) gets the checks the intake makes of the
// record itself. A key given twice, or an unpaired UTF-16 surrogate
// escape, is read by encoding/json without a word (the last value wins;
// U+FFFD), so the entity the view reads would not be the one sent. The
// record itself is refused for both (Decode); so is the record whose
// unmapped text holds them: a 400 naming `unmapped`, the place in the text
// and the fault. So is a number out of float64's range (1e400, -1e999, an
// integer of 400 digits): the record itself is refused for it, and the view
// cannot read the text (encoding/json fails on it), so the entities beside
// it would go unread under a warning that the text is no JSON object. The record is Security Lake's GuardDuty finding of
// testdata/real (see its README), its unmapped written as the JSON text
// Security Lake's tables keep.
func TestUnmappedTextIsCheckedLikeTheRecord(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "real", "securitylake-guardduty-dga-1.1.ocsf.json"))
	if err != nil {
		t.Fatal(err)
	}
	const domainKey = "ProductFields.aws/guardduty/service/action/dnsRequestAction/domain"
	base := decodeOne(t, string(src))
	um := obj(base, "unmapped")
	if um[domainKey] != "dglvrrerxokcxc.co.jp" {
		t.Fatalf("premise: unmapped[%q] = %v", domainKey, um[domainKey])
	}
	text, err := json.Marshal(um)
	if err != nil {
		t.Fatal(err)
	}
	withText := func(s string) Detection {
		d := decodeOne(t, string(src))
		d["unmapped"] = s
		return d
	}
	v := newTestValidator(t)
	if errs := v.Validate([]Detection{withText(string(text))}); len(errs) != 0 {
		t.Fatalf("premise: unmapped as a JSON text refused: %v", errs)
	}

	// The same faults in the record itself are refused by Decode.
	for _, member := range []string{`"domain": "a.example", "domain": "b.example"`, `"domain": "a\ud800.example"`, `"count": 1e400`} {
		rec := strings.Replace(string(src), `"unmapped": {`, `"unmapped": {`+member+`, `, 1)
		if _, err := Decode(strings.NewReader(rec), DecodeOptions{}); err == nil {
			t.Fatalf("premise: record with unmapped {%s} decoded", member)
		}
	}

	dup := strings.Replace(string(text), `{`, `{"`+domainKey+`":"attacker-chosen.example",`, 1)
	for _, c := range []struct {
		name, text string
		want       []string
	}{
		{"key given twice", dup, []string{"duplicate key", `(unmapped["` + domainKey[:64] + `"…])`}}, // a long key is clipped (formatSegs)
		{"key given twice, nested", `{"z": {"src_ip": "203.0.113.9", "src_ip": "10.0.0.1"}}`, []string{"duplicate key", "z.src_ip"}},
		{"unpaired surrogate", `{"hostname": "ws-\ud800-01"}`, []string{`unpaired UTF-16 surrogate \uD800`, "UTF-8"}},
		{"unpaired low surrogate", `{"hostname": "ws-\udc00"}`, []string{`unpaired UTF-16 surrogate \uDC00`}},
		{"number out of range", `{"src_ip": "203.0.113.9", "count": 1e400}`, []string{"number 1e400 is out of range", "at byte 35 of the text (unmapped.count)"}},
		{"number out of range, nested", `{"z": {"hostname": "ws-01", "n": [1, -1e999]}}`, []string{"number -1e999 is out of range", "unmapped.z.n[1]"}},
		{"integer beyond float64", `{"id": 1` + strings.Repeat("0", 400) + `}`, []string{"is out of range", "unmapped.id"}},
	} {
		errs := v.Validate([]Detection{withText(c.text)})
		if len(errs) != 1 || errs[0].Path != "unmapped" {
			t.Errorf("%s: errors %v, want one naming unmapped", c.name, errs)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(errs[0].Message, w) {
				t.Errorf("%s: message %q lacks %q", c.name, errs[0].Message, w)
			}
		}
	}

	// What the record's own checks let through passes here too: a paired
	// surrogate, keys and colons inside strings, the same key in two
	// objects; a text that encodes no object stays a warning (not read).
	for _, s := range []string{
		`{"user": "\ud83d\ude00", "note": "a:b", "k": "{\"k\": 1, \"k\": 2}"}`,
		`{"a": {"src_ip": "203.0.113.9"}, "b": {"src_ip": "10.0.0.1"}, "src_ip": "198.51.100.7"}`,
		`not json`, `["203.0.113.9"]`, ``,
	} {
		if errs := v.Validate([]Detection{withText(s)}); len(errs) != 0 {
			t.Errorf("unmapped %q: refused %v", s, errs)
		}
	}
}

// TestUnmappedTextNoObjectIsNotCheckedLikeOne: only a text the view reads
// as an object is refused for what the record would be refused for. A text
// that encodes no object (cut short, or with something after the object)
// is not read, and is accepted with the warning that says so (docs/
// detections.md), whatever it holds: a producer that escapes non-ASCII
// (Python's json.dumps writes an emoji as the pair \ud83d\ude00 by default,
// ensure_ascii) and cuts a long text at a length limit can cut between the
// two halves of a pair, and a text followed by more than the object is not
// one the view walks either.
func TestUnmappedTextNoObjectIsNotCheckedLikeOne(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "real", "securitylake-guardduty-dga-1.1.ocsf.json"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := json.Marshal(obj(decodeOne(t, string(src)), "unmapped"))
	if err != nil {
		t.Fatal(err)
	}
	open := strings.TrimSuffix(string(text), "}")
	v := newTestValidator(t)
	for _, s := range []string{
		open + `, "note": "login from \ud83d`,                         // cut between the halves of a pair
		open + `, "note": "\ud83d\ude00 \udc00`,                       // cut short, a lone low half before
		`{"src_ip": "203.0.113.9", "src_ip": "10.0.0.1"} {"more": 1}`, // more than one object
		`{"note": "\ud800"} trailing`,
	} {
		if _, ok := finding.UnmappedText(s); ok {
			t.Fatalf("premise: the view reads %q", s)
		}
		d := decodeOne(t, string(src))
		d["unmapped"] = s
		if errs := v.Validate([]Detection{d}); len(errs) != 0 {
			t.Errorf("unmapped %q (no JSON object): refused %v, want accepted with the 'not read' warning", s, errs)
		}
		_, notes := finding.BuildNoting(d, finding.DefaultConfig())
		if !slices.ContainsFunc(Warnings(0, d, notes), func(w FieldError) bool { return w.Path == "unmapped" && strings.Contains(w.Message, "not read") }) {
			t.Errorf("unmapped %q: no 'not read' warning", s)
		}
	}
}
