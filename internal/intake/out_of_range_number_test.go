package intake

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutOfRangeNumberCutIsMarked: the 400 for a number out of float64's
// range quotes the number, cut to 40 characters. A producer that writes
// arbitrary-precision integers as JSON numbers (Python's json.dumps writes
// an int as its decimal digits, up to 4,300 of them: testdata/README.md)
// sends 10**400 as a 1 and 400 zeros. Cut to 40 characters with nothing
// to say so, the answer named "number 1000…000 (40 digits) is out of
// range": 1e39, a number well inside float64's range, not the one sent.
// The quote must say it is cut, and how long the number is, in the record
// (Decode) and in an `unmapped` JSON text (Validate), which share the
// message.
func TestOutOfRangeNumberCutIsMarked(t *testing.T) {
	big := "1" + strings.Repeat("0", 400) // 10**400 as Python writes it
	cut := "number " + big[:40] + " is out of range"
	want := []string{"number " + big[:40] + "…", "401 characters", "is out of range"}

	_, err := Decode(strings.NewReader(`{"id": `+big+`}`), DecodeOptions{})
	var de *DecodeError
	if !errors.As(err, &de) || !errors.Is(err, ErrMalformed) || de.Path != "id" {
		t.Fatalf("record: err = %v, want ErrMalformed at id", err)
	}
	check := func(what, msg string) {
		t.Helper()
		if strings.Contains(msg, cut) {
			t.Errorf("%s: message %q quotes the cut number as the number sent", what, msg)
		}
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message %q lacks %q", what, msg, w)
			}
		}
	}
	check("record", de.Msg)

	src, err := os.ReadFile(filepath.Join("testdata", "real", "securitylake-guardduty-dga-1.1.ocsf.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := decodeOne(t, string(src))
	d["unmapped"] = `{"id": ` + big + `}`
	errs := newTestValidator(t).Validate([]Detection{d})
	if len(errs) != 1 || errs[0].Path != "unmapped" {
		t.Fatalf("unmapped text: errors %v, want one naming unmapped", errs)
	}
	check("unmapped text", errs[0].Message)

	// A number of 40 characters or fewer is quoted whole, unmarked.
	_, err = Decode(strings.NewReader(`{"n": -1e400}`), DecodeOptions{})
	if !errors.As(err, &de) || !strings.Contains(de.Msg, "number -1e400 is out of range") {
		t.Errorf("short number: err = %v, want it quoted whole", err)
	}
}
