package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, Problem{
		Type:   "https://riposte.dev/problems/invalid-detection",
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
		"type":   "https://riposte.dev/problems/invalid-detection",
		"title":  "Detection failed validation",
		"status": 400.0,
		"detail": "1 validation error(s) in 1 detection(s)",
		"errors": []any{map[string]any{"index": 2.0, "path": "severity_id", "message": "is required"}},
	}
	if string(mustJSON(t, got)) != string(mustJSON(t, want)) {
		t.Errorf("body = %s", rec.Body)
	}
}

func TestWriteDefaults(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, Problem{Status: http.StatusBadRequest})
	want := `{"type":"about:blank","title":"Bad Request","status":400}` + "\n"
	if rec.Body.String() != want {
		t.Errorf("body = %s, want %s", rec.Body, want)
	}
	rec = httptest.NewRecorder()
	Write(rec, Problem{})
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"status":500`) {
		t.Errorf("zero Problem: %d %s", rec.Code, rec.Body)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFieldErrorString(t *testing.T) {
	if got := (FieldError{Index: 2, Path: "severity_id", Message: "is required"}).String(); got != "detection 2: severity_id: is required" {
		t.Errorf("got %q", got)
	}
	if got := (FieldError{Index: 0, Message: "is odd"}).String(); got != "detection 0: is odd" {
		t.Errorf("got %q", got)
	}
}
