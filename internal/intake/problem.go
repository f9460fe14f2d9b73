package intake

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Problem type URIs used by [DecodeProblem] and [ValidationProblem]. They
// identify the kind of problem; clients should switch on them, not on Title.
const (
	ProblemTypeTooLarge  = "https://riposte.dev/problems/detection-body-too-large"
	ProblemTypeMalformed = "https://riposte.dev/problems/malformed-detection"
	ProblemTypeInvalid   = "https://riposte.dev/problems/invalid-detection"
)

// ProblemContentType is the media type of [Problem] documents (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem details document. Errors is an extension
// member listing field-level failures.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// WriteProblem writes p as application/problem+json with status p.Status.
// An empty Type becomes "about:blank", a zero Status 500, and an empty
// Title the standard text of the status code.
func WriteProblem(w http.ResponseWriter, p Problem) {
	if p.Status < 100 || p.Status > 999 {
		p.Status = http.StatusInternalServerError
	}
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	body, err := json.Marshal(p)
	if err != nil { // cannot happen: Problem holds only strings and ints
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ProblemContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

// DecodeProblem builds the response for an error returned by [Decode]:
// 413 for [ErrTooLarge] and [ErrTooManyDetections], 400 otherwise. When the
// error belongs to one detection, Errors holds it with its index and path.
func DecodeProblem(err error) Problem {
	p := Problem{
		Type:   ProblemTypeMalformed,
		Title:  "Malformed detection request",
		Status: http.StatusBadRequest,
		Detail: "the request body could not be decoded",
	}
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrTooManyDetections) {
		p.Type = ProblemTypeTooLarge
		p.Title = "Detection request too large"
		p.Status = http.StatusRequestEntityTooLarge
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		return p
	}
	p.Detail = de.Detail()
	if de.Index >= 0 {
		msg := de.Msg
		if loc := de.location(); loc != "" {
			msg = loc + ": " + msg
		}
		p.Errors = []FieldError{{Index: de.Index, Path: de.Path, Message: msg}}
	}
	return p
}

// ValidationProblem builds the 400 response for errors returned by
// [Validator.Validate].
func ValidationProblem(errs []FieldError) Problem {
	seen := make(map[int]bool)
	for _, e := range errs {
		seen[e.Index] = true
	}
	return Problem{
		Type:   ProblemTypeInvalid,
		Title:  "Detection failed validation",
		Status: http.StatusBadRequest,
		Detail: fmt.Sprintf("%d validation error(s) in %d detection(s)", len(errs), len(seen)),
		Errors: errs,
	}
}
