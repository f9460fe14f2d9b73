package connector

import (
	"strings"
	"testing"
)

// A vendor echoing the request it refused echoes Okta's own shape of a
// password: an object whose "value" is the password (Okta Users API,
// "credentials": {"password": {"value": "…"}}; errorCauses point at
// "credentials.password.value"). The redactor took the object's opening
// brace for the value, redacted it and left the password in clear.
func TestRedactShapesSecretKeyWithObjectValue(t *testing.T) {
	for _, tt := range []struct{ in, gone, keep string }{
		{`{"errorSummary":"Api validation failed: password","request":{"profile":{"login":"bob@example.com"},"credentials":{"password":{"value":"tlpWENT2m"}}}}`,
			"tlpWENT2m", `"login":"bob@example.com"`},
		{`{"credentials":{"password" : { "value" : "Tr0ub4dor&3x", "hook": {"type":"default"} }}}`, "Tr0ub4dor", `"credentials":{"password"`},
		{`{\"credentials\":{\"password\":{\"value\":\"Tr0ub4dor&3x\"}}}`, "Tr0ub4dor", `credentials`},
		{`{"client_secret":{"value":"Qp8~abc.DEF_ghi-123","expires":"2030-01-01"}}`, "Qp8~abc.DEF_ghi-123", `"client_secret"`},
	} {
		got := RedactShapes(tt.in)
		if strings.Contains(got, tt.gone) {
			t.Errorf("RedactShapes(%q)\n = %q: still holds %q", tt.in, got, tt.gone)
		}
		if !strings.Contains(got, tt.keep) {
			t.Errorf("RedactShapes(%q)\n = %q: lost %q", tt.in, got, tt.keep)
		}
	}
}
