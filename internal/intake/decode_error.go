package intake

import (
	"fmt"
	"strings"
)

// DecodeError describes why a body could not be decoded and, when known,
// where. Every error returned by [Decode] is a *DecodeError; it wraps one
// of the Err* sentinels (or, for a failing reader, the read error).
type DecodeError struct {
	// Err is the kind of failure: ErrTooLarge, ErrEmpty, ErrMalformed,
	// ErrTooDeep, ErrTooManyDetections, or a wrapped read error.
	Err error
	// Index is the 0-based index of the detection being read, or -1 when
	// the error is outside any detection (for example a body that starts
	// with a number).
	Index int
	// Line and Column (both 1-based; Column counts bytes) locate Offset.
	// For NDJSON bodies Line is the NDJSON line number.
	Line, Column int
	// Offset is the 0-based byte offset of the error in the body, or -1
	// when the error has no location (too large, empty, read failure); Line
	// and Column are then 0.
	Offset int64
	// Path is the field path inside the detection, in the format described
	// in the package documentation, or "" when unknown.
	Path string
	// Msg describes the problem in plain words.
	Msg string
}

// Error implements error.
func (e *DecodeError) Error() string {
	return "intake: decode: " + e.Detail()
}

func (e *DecodeError) location() string {
	if e.Offset < 0 {
		return ""
	}
	return fmt.Sprintf("line %d, column %d (byte offset %d)", e.Line, e.Column, e.Offset)
}

// Unwrap returns the sentinel error, so errors.Is works.
func (e *DecodeError) Unwrap() error { return e.Err }

// Detail is the error text without the package prefix, suitable for the
// "detail" member of a problem document.
func (e *DecodeError) Detail() string {
	var b strings.Builder
	if e.Index >= 0 {
		fmt.Fprintf(&b, "detection %d: ", e.Index)
	}
	if loc := e.location(); loc != "" {
		b.WriteString(loc)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}
