package connector

import (
	"strings"
	"testing"
)

// An Authorization value is a scheme and its credentials, either a
// token68 (Bearer, Basic, SSWS) or auth-params (RFC 9110 §11.4:
// 'Token token=…', PagerDuty's REST API key and Rails' token
// authentication; AWS SigV4 'Credential=…, SignedHeaders=…,
// Signature=…'; Digest's 'response="…"'). Unquoted (a header dump, Go's
// %v of an http.Header), only the scheme was redacted and the
// credentials after it stayed in clear: 'Authorization: [REDACTED]
// token=y_NbAkKc66ryYTWUXYEu'.
func TestRedactShapesAuthorizationParams(t *testing.T) {
	for _, c := range []struct{ in, secret, want string }{
		{`Authorization: Token token=y_NbAkKc66ryYTWUXYEu`, "y_NbAkKc66ryYTWUXYEu", `Authorization: [REDACTED]`},
		{`map[Accept:[application/json] Authorization:[Token token=y_NbAkKc66ryYTWUXYEu]]`, "y_NbAkKc66ryYTWUXYEu", `map[Accept:[application/json] Authorization:[REDACTED]]]`},
		{`authorization=Token token=y_NbAkKc66ryYTWUXYEu user=bob`, "y_NbAkKc66ryYTWUXYEu", `authorization=[REDACTED] user=bob`},
		{`Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024`,
			"fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024", `Authorization: [REDACTED]`},
		{`Authorization: Digest username="bob", realm="api", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/x", response="6629fae49393a05397450978507c4ef1"` + "\nHost: api.example.com",
			"6629fae49393a05397450978507c4ef1", "Authorization: [REDACTED]\nHost: api.example.com"},
		// As before.
		{`Authorization: Bearer abcdefgh123 user=bob`, "abcdefgh123", `Authorization: [REDACTED] user=bob`},
		{`"Authorization": "Token token=y_NbAkKc66ryYTWUXYEu"`, "y_NbAkKc66ryYTWUXYEu", `"Authorization": "[REDACTED]"`},
	} {
		got := RedactShapes(c.in)
		if strings.Contains(got, c.secret) {
			t.Errorf("RedactShapes(%q) = %q: still holds %q", c.in, got, c.secret)
		}
		if got != c.want {
			t.Errorf("RedactShapes(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}
