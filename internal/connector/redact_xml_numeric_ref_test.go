package connector

import (
	"strings"
	"testing"
)

// XML and HTML let a character reference have leading zeros (XML 1.0 §4.1:
// CharRef ::= '&#' [0-9]+ ';' | '&#x' [0-9a-fA-F]+ ';'; HTML's numeric
// character references likewise), and PHP's htmlspecialchars writes a single
// quote as &#039; (testdata/README.md). The code-point forms of xmlForms
// matched only &#60; and &#x3C;: &#060;password&#062;…, &#x03C;…, &#x003c;…
// quoted the secret in clear.
func TestRedactShapesNumericRefsWithLeadingZeros(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"decimal, one zero",
			`&#060;password&#062;hunter2&#060;/password&#062;`,
			`&#060;password&#062;[REDACTED]&#060;/password&#062;`},
		{"decimal, many zeros",
			`&#0000060;password&#00062;hunter2&#0060;/password&#000062;`,
			`&#0000060;password&#00062;[REDACTED]&#0060;/password&#000062;`},
		{"hex, one zero, capitals",
			`&#x03C;password&#x03E;hunter2&#x03C;/password&#x03E;`,
			`&#x03C;password&#x03E;[REDACTED]&#x03C;/password&#x03E;`},
		{"hex, two zeros",
			`&#x003c;SessionToken&#x003e;FwoGZXIvYXdz&#x003c;/SessionToken&#x003e;`,
			`&#x003c;SessionToken&#x003e;[REDACTED]&#x003c;/SessionToken&#x003e;`},
		{"hex with X",
			`&#X003C;password&#X003E;hunter2&#X003C;/password&#X003E;`,
			`&#X003C;password&#X003E;[REDACTED]&#X003C;/password&#X003E;`},
		{"decimal with '>' as is",
			`&#060;password>hunter2&#060;/password>`,
			`&#060;password>[REDACTED]&#060;/password>`},
		{"CDATA, decimal",
			`&#060;password&#062;&#060;![CDATA[hun&#060;b&#062;ter2]]&#062;&#060;/password&#062;&#060;user&#062;bob&#060;/user&#062;`,
			`&#060;password&#062;[REDACTED]&#060;/password&#062;&#060;user&#062;bob&#060;/user&#062;`},
		{"name/value pair, decimal",
			`&#060;Key&#062;API_KEY&#060;/Key&#062;&#060;Value&#062;hunter2&#060;/Value&#062;`,
			`&#060;Key&#062;API_KEY&#060;/Key&#062;&#060;Value&#062;[REDACTED]&#060;/Value&#062;`},
		{"name/value pair, hex",
			`&#x003C;member&#x003E;&#x003C;Value&#x003E;hunter2&#x003C;/Value&#x003E;&#x003C;Key&#x003E;DB_PASSWORD&#x003C;/Key&#x003E;&#x003C;/member&#x003E;`,
			`&#x003C;member&#x003E;&#x003C;Value&#x003E;[REDACTED]&#x003C;/Value&#x003E;&#x003C;Key&#x003E;DB_PASSWORD&#x003C;/Key&#x003E;&#x003C;/member&#x003E;`},
		{"attributes quoted by PHP's &#039;",
			`&lt;add key=&#039;ApiKey&#039; value=&#039;k-7f3a9c&#039;/&gt;&lt;add key=&#039;Owner&#039; value=&#039;soc-team&#039;/&gt;`,
			`&lt;add key=&#039;ApiKey&#039; value=&#039;[REDACTED]&#039;/&gt;&lt;add key=&#039;Owner&#039; value=&#039;soc-team&#039;/&gt;`},
		{"attributes quoted by &#x0022;",
			`&#060;add key=&#x0022;ApiKey&#x0022; value=&#x0022;k-7f3a9c&#x0022;/&#062;`,
			`&#060;add key=&#x0022;ApiKey&#x0022; value=&#x0022;[REDACTED]&#x0022;/&#062;`},
		// Left alone: references that are not '<', text that only looks
		// like one, and other elements.
		{"other elements",
			`&#060;user&#062;bob&#060;/user&#062;&#x003c;Key&#x003e;Name&#x003c;/Key&#x003e;&#x003c;Value&#x003e;web-01&#x003c;/Value&#x003e;`,
			`&#060;user&#062;bob&#060;/user&#062;&#x003c;Key&#x003e;Name&#x003c;/Key&#x003e;&#x003c;Value&#x003e;web-01&#x003c;/Value&#x003e;`},
		{"other code points",
			`&#0600;password&#062;hunter2 &#x03C0;password&#x03E;pi &#06x0;password&#062;x &#x;password`,
			`&#0600;password&#062;hunter2 &#x03C0;password&#x03E;pi &#06x0;password&#062;x &#x;password`},
		// HTML reads a reference without its ';' too
		// (TestRedactShapesNumericRefsWithoutSemicolon).
		{"a long run of zeros, no ';'",
			`&#00000000000000000000000000000000000000000000060password&#062;x`,
			`&#00000000000000000000000000000000000000000000060password&#062;[REDACTED]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactShapes(tt.in); got != tt.want {
				t.Errorf("RedactShapes(%s)\n = %s\nwant %s", tt.in, got, tt.want)
			}
			if got := RedactShapes(tt.want); got != tt.want {
				t.Errorf("not idempotent: RedactShapes(%s) = %s", tt.want, got)
			}
			if s := Snippet([]byte(tt.in)); strings.Contains(tt.want, redacted) && strings.Contains(s, "hunter2") {
				t.Errorf("Snippet(%s) = %s", tt.in, s)
			}
		})
	}
}
