package connector

import (
	"strings"
	"testing"
)

// An unquoted value's second word (the token after "Bearer") was taken
// even when it was the next pair's key: logfmt and log lines
// ("api_key=abc123 password=hunter2") came out as
// "api_key=[REDACTED]hunter2", the second secret in clear; after a
// Secrets Manager ARN (kept, it names the secret) the pair that followed
// was skipped with it; and a word-only password's passphrase words took
// the next key, leaving its value after the '='.
func TestRedactShapesNextKeyIsNotTheValue(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`api_key=abc123 password=hunter2`, `api_key=[REDACTED] password=[REDACTED]`},
		{`api_key: abc123 password: hunter2`, `api_key: [REDACTED] password: [REDACTED]`},
		{`level=error x-api-key=abc123 client_secret=s3cr3tvalue msg="denied"`, `level=error x-api-key=[REDACTED] client_secret=[REDACTED] msg="denied"`},
		{`arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf password=Xy7k9qWz`, `arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf password=[REDACTED]`},
		{`arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf client_secret: s3cr3tvalue`, `arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf client_secret: [REDACTED]`},
		{`password: hunter passwd=Xy7k9qWz`, `password: [REDACTED] passwd=[REDACTED]`},
		{`password: hunter username: bob`, `password: [REDACTED] username: bob`},
		// The token after a scheme is still the value's.
		{`Authorization: Bearer abcdefgh123 user=bob`, `Authorization: [REDACTED] user=bob`},
		{`Authorization=Basic dXNlcjpwYXNzd29yZA==`, `Authorization=[REDACTED]`},
	} {
		got := RedactShapes(c.in)
		if got != c.want {
			t.Errorf("RedactShapes(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
		for _, secret := range []string{"hunter2", "s3cr3tvalue", "Xy7k9qWz"} {
			if strings.Contains(got, secret) {
				t.Errorf("RedactShapes(%q) shows %q: %q", c.in, secret, got)
			}
		}
	}
}
