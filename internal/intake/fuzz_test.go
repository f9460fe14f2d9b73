package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/riposte-dev/riposte/internal/finding"
)

// Limits small enough for the fuzzer to hit them.
var fuzzOpts = DecodeOptions{MaxBytes: 64 << 10, MaxDepth: 12, MaxDetections: 8}

// FuzzDecode checks that Decode and Validate never panic, never exceed the
// configured bounds, agree with encoding/json on what valid JSON means,
// and carry values through unchanged.
//
// The example files make large seeds, and Go spends up to
// -fuzzminimizetime (default 60s) minimising each new interesting input
// derived from them; for short runs use e.g.
//
//	go test -run='^$' -fuzz=FuzzDecode -fuzztime=2m -fuzzminimizetime=5s ./internal/intake/
func FuzzDecode(f *testing.F) {
	for _, file := range exampleFiles(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", " ", "{}", "[]", "[{}]", "{}\n{}", "{}\r\n\r\n{}", "{}{}", "[{},]", "[{} {}]", `{"a":1`, `{"a":"\"}{"}`,
		`{"a":1,"a":2}`, `{"a":1e999}`, `{"a":-0.0,"b":1E+2,"c":123456789012345678901234567890}`,
		"\xEF\xBB\xBF{}", `{"a":"\ud800"}`, "{\"a\":\"\xff\"}", `[[{}]]`, `[1]`, "null", `{"a":[[[[[[[[[[[[[[]]]]]]]]]]]]]]}`,
		`{"class_uid":1001,"severity_id":7,"time":"x","confidence_score":150,"metadata":{"product":{}},"finding_info":{"uid":""}}`,
		`{"unmapped":"{\"a\":1,\"a\":2}"}`, `{"unmapped":"{\"h\":\"\\ud800\"}"}`, `{"unmapped":"{\"ip\":\"203.0.113.9\",\"n\":[1e400]}"}`,
	} {
		f.Add([]byte(s))
	}
	v, err := NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		dets, err := Decode(bytes.NewReader(body), fuzzOpts)
		if err != nil {
			checkDecodeError(t, body, err)
			return
		}
		if int64(len(body)) > fuzzOpts.MaxBytes {
			t.Fatalf("accepted %d bytes over a %d byte limit", len(body), fuzzOpts.MaxBytes)
		}
		if len(dets) == 0 || len(dets) > fuzzOpts.MaxDetections {
			t.Fatalf("%d detections, want 1..%d", len(dets), fuzzOpts.MaxDetections)
		}
		for i, d := range dets {
			if d == nil {
				t.Fatalf("detection %d is nil", i)
			}
			if n := depth(map[string]any(d)); n > fuzzOpts.MaxDepth {
				t.Fatalf("detection %d nests %d levels, limit %d", i, n, fuzzOpts.MaxDepth)
			}
			if _, err := json.Marshal(d); err != nil {
				t.Fatalf("detection %d cannot be re-encoded: %v", i, err)
			}
			k := d.Key()
			if !keyPattern.MatchString(k) || len(k) > MaxKeyLen {
				t.Fatalf("bad key %q", k)
			}
			_, _, _, _, _ = d.UID(), d.Product(), d.Severity(), d.DetectorModel(), d.Title()
			_, _ = d.Confidence()
			_ = d.SeverityID()
		}
		refused := map[int]bool{}
		for _, fe := range v.Validate(dets) {
			if fe.Index < 0 || fe.Index >= len(dets) || fe.Message == "" {
				t.Fatalf("bad field error %+v", fe)
			}
			if fe.Path == "unmapped" {
				refused[fe.Index] = true
			}
		}
		// An unmapped text that is one JSON object is read by the view,
		// or refused naming unmapped: never passed on unread.
		for i, d := range dets {
			s, isText := d["unmapped"].(string)
			if !isText || refused[i] || firstByte([]byte(s)) != '{' || !json.Valid([]byte(s)) {
				continue
			}
			if _, ok := finding.UnmappedText(s); !ok {
				t.Fatalf("detection %d: unmapped text %q is a JSON object the view does not read, accepted", i, s)
			}
		}
		// A single object or an array accepted by Decode must be valid JSON
		// that encoding/json decodes to the same values.
		if len(dets) == 1 || firstByte(body) == '[' {
			trimmed := bytes.TrimPrefix(body, utf8BOM)
			if !json.Valid(trimmed) {
				if firstByte(body) == '[' || !isNDJSON(trimmed) {
					t.Fatalf("accepted invalid JSON %q", body)
				}
				return
			}
			var want any
			if err := json.Unmarshal(trimmed, &want); err != nil {
				t.Fatal(err)
			}
			var got any = map[string]any(dets[0])
			if firstByte(body) == '[' {
				arr := make([]any, len(dets))
				for i, d := range dets {
					arr[i] = map[string]any(d)
				}
				got = arr
			}
			if g := roundTrip(t, got); !reflect.DeepEqual(g, want) {
				t.Fatalf("values differ from encoding/json:\n got %v\nwant %v", g, want)
			}
		}
	})
}

func checkDecodeError(t *testing.T, body []byte, err error) {
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %T is not a *DecodeError: %v", err, err)
	}
	known := false
	for _, s := range []error{ErrTooLarge, ErrEmpty, ErrMalformed, ErrTooDeep, ErrTooManyDetections} {
		known = known || errors.Is(err, s)
	}
	if !known {
		t.Fatalf("error wraps no sentinel: %v", err)
	}
	if int64(len(body)) > fuzzOpts.MaxBytes {
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("oversized body: %v, want ErrTooLarge", err)
		}
		return
	}
	if de.Offset < -1 || de.Offset > int64(len(body)) {
		t.Fatalf("offset %d outside the %d byte body", de.Offset, len(body))
	}
	if de.Index > fuzzOpts.MaxDetections {
		t.Fatalf("index %d beyond the detection limit", de.Index)
	}
	// Valid JSON objects are only refused for a documented reason.
	if errors.Is(err, ErrMalformed) && firstByte(body) == '{' && json.Valid(bytes.TrimPrefix(body, utf8BOM)) {
		// (json.Valid takes text that is not UTF-8, and lone surrogate
		// escapes; Decode refuses both, see notUTF8.)
		if de.Msg != "duplicate key: each key may appear only once in an object" && !bytes.Contains([]byte(de.Msg), []byte("out of range")) &&
			!bytes.Contains([]byte(de.Msg), []byte("JSON text must be UTF-8")) {
			t.Fatalf("valid JSON object refused: %v", err)
		}
	}
	_ = DecodeProblem(err)
}

// depth counts nesting levels; a scalar is level 0, an empty object 1.
func depth(v any) int {
	n := 0
	switch x := v.(type) {
	case map[string]any:
		for _, c := range x {
			n = max(n, depth(c))
		}
		return n + 1
	case []any:
		for _, c := range x {
			n = max(n, depth(c))
		}
		return n + 1
	}
	return 0
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(bytes.TrimPrefix(b, utf8BOM), " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// isNDJSON reports whether b is a sequence of valid JSON values.
func isNDJSON(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err.Error() == "EOF"
		}
	}
}
