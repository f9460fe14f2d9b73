package intake

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteProblem(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteProblem(rec, Problem{
		Type:   ProblemTypeInvalid,
		Title:  "Detection failed validation",
		Status: http.StatusBadRequest,
		Detail: "1 validation error(s) in 1 detection(s)",
		Errors: []FieldError{{Index: 2, Path: "severity_id", Message: "is required"}},
	})
	if rec.Code != http.StatusBadRequest {
		t.Errorf("status = %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("missing X-Content-Type-Options: nosniff")
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type":   ProblemTypeInvalid,
		"title":  "Detection failed validation",
		"status": 400.0,
		"detail": "1 validation error(s) in 1 detection(s)",
		"errors": []any{map[string]any{"index": 2.0, "path": "severity_id", "message": "is required"}},
	}
	if string(mustJSON(t, got)) != string(mustJSON(t, want)) {
		t.Errorf("body = %s", rec.Body)
	}
}

func TestWriteProblemDefaults(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteProblem(rec, Problem{Status: http.StatusBadRequest})
	want := `{"type":"about:blank","title":"Bad Request","status":400}` + "\n"
	if rec.Body.String() != want {
		t.Errorf("body = %s, want %s", rec.Body, want)
	}
	rec = httptest.NewRecorder()
	WriteProblem(rec, Problem{})
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"status":500`) {
		t.Errorf("zero Problem: %d %s", rec.Code, rec.Body)
	}
}

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
			[]FieldError{{Index: 1, Message: "line 2, column 1 (byte offset 29): more than 1 detections in one request"}},
			"detection 1: line 2, column 1 (byte offset 29): more than 1 detections in one request"},
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
	WriteProblem(rec, p)
	golden(t, filepath.Join("testdata", "invalid-batch.problem.json"), rec.Body.Bytes())
}
