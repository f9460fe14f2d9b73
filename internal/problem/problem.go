// Package problem writes RFC 9457 problem details (application/problem+json),
// the one error body of every Riposte HTTP endpoint: the API, detection
// intake and the Slack interactivity endpoint.
package problem

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// ContentType is the media type of [Problem] documents (RFC 9457).
const ContentType = "application/problem+json"

// Problem is an RFC 9457 problem details document. Errors is an extension
// member listing field-level failures of the items of a request.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one field-level failure. Riposte's batch requests are
// detection batches (intake.FieldError is this type).
type FieldError struct {
	// Index is the 0-based position of the detection in the request.
	Index int `json:"index"`
	// Path locates the field inside that item ("" is the item itself).
	Path string `json:"path"`
	// Message says what is wrong.
	Message string `json:"message"`
}

// String renders the error as "detection 2: severity_id: is required".
func (e FieldError) String() string {
	if e.Path == "" {
		return fmt.Sprintf("detection %d: %s", e.Index, e.Message)
	}
	return fmt.Sprintf("detection %d: %s: %s", e.Index, e.Path, e.Message)
}

// Write writes p as application/problem+json with status p.Status. An
// empty Type becomes "about:blank", a Status outside 100-999 500, and an
// empty Title the standard text of the status code.
func Write(w http.ResponseWriter, p Problem) {
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
	h.Set("Content-Type", ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

// Respond writes a problem of type about:blank.
func Respond(w http.ResponseWriter, status int, title, detail string) {
	Write(w, Problem{Status: status, Title: title, Detail: detail})
}
