package connector

import (
	"strings"
	"testing"
)

// A secret key whose value is a JSON array of strings: request headers as
// Go's http.Header and Spring's HttpHeaders serialize them
// ({"X-Api-Key":["…"],"Authorization":["SSWS …"]}), which is how a
// vendor's gateway echoes the request it refused, and a form field given
// as a list ({"password":["…"]}). The redactor took the '[' for the value:
// it wrote "[REDACTED]" in front of the secret and left the secret itself
// in clear, so the error read as redacted and was not.
func TestRedactShapesSecretKeyWithArrayValue(t *testing.T) {
	for _, tt := range []struct{ in, gone, keep string }{
		{`{"message":"invalid api key","request":{"headers":{"Accept":["application/json"],"X-Api-Key":["5f1c8e2a9b0d4c7e6a3f"]}}}`,
			"5f1c8e2a9b0d4c7e6a3f", `"Accept":["application/json"]`},
		{`{"password":["Tr0ub4dor&3"],"login":"bob@example.com"}`, "Tr0ub4dor", `"login":"bob@example.com"`},
		{`{"client_secret": [ "first-Qp8~abc.DEF", "second-Xy9~ghi.JKL" ]}`, "-Xy9~ghi", `"client_secret"`},
		{`{\"api_key\":[\"5f1c8e2a9b0d4c7e6a3f\"],\"user\":\"bob\"}`, "5f1c8e2a9b0d4c7e6a3f", `\"user\":\"bob\"`},
		// Cut inside the array (Snippet's cut).
		{`{"password":["correct horse battery`, "horse", `"password"`},
		// A '[' that opens no string: Go's %v of a header map, as before.
		{`map[Accept:[application/json] X-Api-Key:[5f1c8e2a9b0d4c7e6a3f]]`, "5f1c8e2a9b0d4c7e6a3f", `Accept:[application/json]`},
		{`login failed: password: [REDACTED] for bob`, "Tr0ub4dor", `password: [REDACTED] for bob`},
	} {
		got := RedactShapes(tt.in)
		if strings.Contains(got, tt.gone) {
			t.Errorf("RedactShapes(%q)\n = %q: still holds %q", tt.in, got, tt.gone)
		}
		if !strings.Contains(got, tt.keep) {
			t.Errorf("RedactShapes(%q)\n = %q: lost %q", tt.in, got, tt.keep)
		}
		// Errors are redacted again on their way out (Failure): a second
		// pass leaves the text as the first left it.
		if again := RedactShapes(got); again != got {
			t.Errorf("RedactShapes is not idempotent on %q:\n %q\n %q", tt.in, got, again)
		}
	}
}
