package connector

import (
	"strings"
	"testing"
)

// HTML decodes a numeric character reference without its ';' (a parse
// error, "missing-semicolon-after-character-reference", but the character
// is read: html5lib's tokenizer, testdata/README.md): &#60password&#62 is
// <password> on an HTML error page. The code-point forms of xmlForms
// needed the ';', so such markup quoted the secret in clear. The digits
// are read as HTML reads them, as many as there are: &#x3cadd is U+3CADD,
// not '<'.
func TestRedactShapesNumericRefsWithoutSemicolon(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"decimal",
			`<p>Rejected: &#60password&#62hunter2&#60/password&#62</p>`,
			`<p>Rejected: &#60password&#62[REDACTED]&#60/password&#62</p>`},
		{"hex, capitals",
			`&#x3Cpassword&#x3Ehunter2&#x3C/password&#x3E`,
			`&#x3Cpassword&#x3E[REDACTED]&#x3C/password&#x3E`},
		{"some with ';', some without, leading zeros",
			`&#060password&#62;hunter2&#60;/password&#0062`,
			`&#060password&#62;[REDACTED]&#60;/password&#0062`},
		{"escaped twice",
			`&amp;#60password&amp;#62hunter2&amp;#60/password&amp;#62`,
			`&amp;#60password&amp;#62[REDACTED]&amp;#60/password&amp;#62`},
		{"name/value pair",
			`&#60Key&#62API_KEY&#60/Key&#62&#60Value&#62hunter2&#60/Value&#62`,
			`&#60Key&#62API_KEY&#60/Key&#62&#60Value&#62[REDACTED]&#60/Value&#62`},
		{"attributes quoted by &#34 without ';'",
			`&#60add key=&#34ApiKey&#34 value=&#34hunter2&#34/&#62`,
			`&#60add key=&#34ApiKey&#34 value=&#34[REDACTED]&#34/&#62`},
		{"cut inside the text",
			`&#60password&#62hunter2`,
			`&#60password&#62[REDACTED]`},
		// Left alone: other elements, other code points (the digits run
		// on: &#600, &#x3cadd), a '#' without digits.
		{"other elements",
			`&#60user&#62bob&#60/user&#62 &#60Key&#62Name&#60/Key&#62&#60Value&#62web-01&#60/Value&#62`,
			`&#60user&#62bob&#60/user&#62 &#60Key&#62Name&#60/Key&#62&#60Value&#62web-01&#60/Value&#62`},
		{"other code points",
			`&#600password&#62hunter2 &#x3cadd key=&#34ApiKey&#34 value=&#34k-1&#34/&#62 &#password&#62x`,
			`&#600password&#62hunter2 &#x3cadd key=&#34ApiKey&#34 value=&#34k-1&#34/&#62 &#password&#62x`},
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
