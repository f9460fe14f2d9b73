package intake

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/riposte-dev/riposte/internal/problem"
)

// Problem type URIs used by [DecodeProblem] and [ValidationProblem] (their
// problem.Problem is written by problem.Write). They
// identify the kind of problem; clients should switch on them, not on Title.
const (
	ProblemTypeTooLarge  = "https://riposte.dev/problems/detection-body-too-large"
	ProblemTypeMalformed = "https://riposte.dev/problems/malformed-detection"
	ProblemTypeInvalid   = "https://riposte.dev/problems/invalid-detection"
)

// DecodeProblem builds the response for an error returned by [Decode]:
// 413 for [ErrTooLarge] and [ErrTooManyDetections], 400 otherwise. When the
// error belongs to one detection, Errors holds it with its index and path.
func DecodeProblem(err error) problem.Problem {
	p := problem.Problem{
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
func ValidationProblem(errs []FieldError) problem.Problem {
	seen := make(map[int]bool)
	for _, e := range errs {
		seen[e.Index] = true
	}
	return problem.Problem{
		Type:   ProblemTypeInvalid,
		Title:  "Detection failed validation",
		Status: http.StatusBadRequest,
		Detail: fmt.Sprintf("%d validation error(s) in %d detection(s)", len(errs), len(seen)),
		Errors: errs,
	}
}
