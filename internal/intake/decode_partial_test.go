package intake

import (
	"errors"
	"strings"
	"testing"
)

// DecodePartial refuses a record alone when its extent is known (an NDJSON
// line, an object read to its end) and still fails the body for what
// concerns the body (an array whose syntax is broken, too many records).
func TestDecodePartial(t *testing.T) {
	ok := `{"a":1}`
	deep := strings.Repeat(`{"x":`, 70) + "1" + strings.Repeat("}", 70)
	for _, tc := range []struct {
		name string
		body string
		n    int
		bad  map[int]string // index → a word of its message
		err  error
	}{
		{"NDJSON: a cut line", ok + "\n" + `{"a":"b` + "\n" + ok + "\n", 3, map[int]string{1: "line 2"}, nil},
		{"NDJSON: the last line cut", ok + "\n" + ok + "\n" + `{"a":`, 3, map[int]string{2: "line 3"}, nil},
		{"NDJSON: a line that is no object", ok + "\n" + `[1]` + "\n" + ok, 3, map[int]string{1: "must be a JSON object"}, nil},
		{"NDJSON: a repeated key", ok + "\n" + `{"a":1,"a":2}` + "\n" + ok, 3, map[int]string{1: "a"}, nil},
		{"NDJSON: too deep", ok + "\n" + deep + "\n" + ok, 3, map[int]string{1: "depth"}, nil},
		{"array: a repeated key", "[" + ok + `,{"a":1,"a":2},` + ok + "]", 3, map[int]string{1: "a"}, nil},
		{"array: a number out of range", "[" + ok + `,{"a":1e999},` + ok + "]", 3, map[int]string{1: "a"}, nil},
		{"array: broken syntax", "[" + ok + `,{"a":},` + ok + "]", 0, nil, ErrMalformed},
		{"every line broken", `{"a":` + "\n" + `{"b":`, 2, map[int]string{0: "not closed", 1: "line 2"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dets, bad, err := DecodePartial(strings.NewReader(tc.body), DecodeOptions{})
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || len(dets) != tc.n || len(bad) != len(tc.bad) {
				t.Fatalf("%d detections, bad %v, err %v", len(dets), bad, err)
			}
			for i, word := range tc.bad {
				if de := bad[i]; de == nil || de.Index != i || !strings.Contains(de.Detail(), word) {
					t.Errorf("record %d: %v, want it refused naming %q", i, de, word)
				}
			}
			for i, d := range dets {
				if _, isBad := bad[i]; !isBad && d["a"] != 1 {
					t.Errorf("record %d = %v", i, d)
				}
			}
			// Without partial, the body is refused whole.
			if _, err := Decode(strings.NewReader(tc.body), DecodeOptions{}); err == nil {
				t.Errorf("Decode accepted it")
			}
		})
	}
	var many strings.Builder
	for range DefaultMaxDetections + 1 {
		many.WriteString(ok + "\n")
	}
	if _, _, err := DecodePartial(strings.NewReader(many.String()), DecodeOptions{MaxBytes: 1 << 20}); !errors.Is(err, ErrTooManyDetections) {
		t.Errorf("too many: %v", err)
	}
}
