package intake

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/problem"
)

func TestDecodeProblem(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		opts   DecodeOptions
		status int
		typ    string
		errs   []FieldError
		detail string
	}{
		{"too large", objA, DecodeOptions{MaxBytes: 4}, 413, ProblemTypeTooLarge, nil,
			"the request body exceeds the limit of 4 bytes"},
		{"too many", objA + "\n" + objB, DecodeOptions{MaxDetections: 1}, 413, ProblemTypeTooLarge,
			[]FieldError{{Index: 1, Message: "line 2, column 1 (byte offset 29): more than 1 detections in one request: split it into requests of at most 1"}},
			"detection 1: line 2, column 1 (byte offset 29): more than 1 detections in one request: split it into requests of at most 1"},
		{"empty", "", DecodeOptions{}, 400, ProblemTypeMalformed, nil,
			"the request body is empty or only whitespace"},
		{"syntax", objA + "\n" + `{"a" 1}`, DecodeOptions{}, 400, ProblemTypeMalformed,
			[]FieldError{{Index: 1, Message: "line 2, column 6 (byte offset 34): invalid character '1' after object key"}},
			"detection 1: line 2, column 6 (byte offset 34): invalid character '1' after object key"},
		{"duplicate key", `{"finding_info":{"uid":"a","uid":"b"}}`, DecodeOptions{}, 400, ProblemTypeMalformed,
			[]FieldError{{Index: 0, Path: "finding_info.uid", Message: "line 1, column 28 (byte offset 27): duplicate key: each key may appear only once in an object"}},
			"detection 0: line 1, column 28 (byte offset 27): finding_info.uid: duplicate key: each key may appear only once in an object"},
		{"too deep", `{"a":[[[]]]}`, DecodeOptions{MaxDepth: 3}, 400, ProblemTypeMalformed,
			[]FieldError{{Index: 0, Message: "line 1, column 8 (byte offset 7): nesting exceeds the maximum depth of 3 levels"}},
			"detection 0: line 1, column 8 (byte offset 7): nesting exceeds the maximum depth of 3 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tt.body), tt.opts)
			p := DecodeProblem(err)
			if p.Status != tt.status || p.Type != tt.typ || p.Detail != tt.detail {
				t.Errorf("got %d %s %q, want %d %s %q", p.Status, p.Type, p.Detail, tt.status, tt.typ, tt.detail)
			}
			if string(mustJSON(t, p.Errors)) != string(mustJSON(t, tt.errs)) {
				t.Errorf("errors = %s, want %s", mustJSON(t, p.Errors), mustJSON(t, tt.errs))
			}
			if strings.Contains(p.Detail, "intake:") {
				t.Errorf("detail leaks the Go package prefix: %q", p.Detail)
			}
		})
	}
	if p := DecodeProblem(errors.New("other")); p.Status != 400 || p.Detail != "the request body could not be decoded" {
		t.Errorf("foreign error: %+v", p)
	}
}

// TestValidationProblemGolden pins the full HTTP response for a batch of
// invalid detections.
func TestValidationProblemGolden(t *testing.T) {
	v := newTestValidator(t)
	f, err := os.Open(filepath.Join("testdata", "invalid-batch.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dets, err := Decode(f, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := ValidationProblem(v.Validate(dets))
	if p.Status != http.StatusBadRequest || p.Type != ProblemTypeInvalid {
		t.Errorf("problem = %d %s", p.Status, p.Type)
	}
	rec := httptest.NewRecorder()
	problem.Write(rec, p)
	golden(t, filepath.Join("testdata", "invalid-batch.problem.json"), rec.Body.Bytes())
}
