package connector

import (
	"strings"
	"testing"
)

// A password holding '@' (common, and written unescaped in connection
// strings and proxy URLs) ends at the LAST '@' of the authority: Go's
// url.Parse and browsers read it so (RFC 3986 requires %40, but the URL
// works). The redactor stopped at the first '@', so
// 'postgres://admin:p@ssw0rd@db.internal' became
// 'postgres://admin:[REDACTED]@ssw0rd@db.internal', the rest of the
// password in clear.
func TestRedactShapesURLPasswordWithAt(t *testing.T) {
	for _, c := range []struct{ in, secret, want string }{
		{`dial postgres://admin:p@ssw0rd@db.internal:5432/soc failed`, "ssw0rd", `dial postgres://admin:[REDACTED]@db.internal:5432/soc failed`},
		{`proxy http://svc:Xy@7k@9q!Wz@proxy.corp.example:3128 refused`, "9q!Wz", `proxy http://svc:[REDACTED]@proxy.corp.example:3128 refused`},
		{`{"url":"https://bob:h@ck@r2024@10.0.0.5/api"}`, "r2024", `{"url":"https://bob:[REDACTED]@10.0.0.5/api"}`},
		// The host and what follows are kept.
		{`https://bob:pw@host.example/x@y`, "", `https://bob:[REDACTED]@host.example/x@y`},
		{`https://bob:pw@host.example/a and alice@example.com`, "", `https://bob:[REDACTED]@host.example/a and alice@example.com`},
	} {
		got := RedactShapes(c.in)
		if c.secret != "" && strings.Contains(got, c.secret) {
			t.Errorf("RedactShapes(%q) = %q: still holds %q", c.in, got, c.secret)
		}
		if got != c.want {
			t.Errorf("RedactShapes(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}
