package connector

import (
	"strings"
	"testing"
)

// Markup written by code point (&#60;password&#62;) is escaped again like
// any text: an HTML page or a SOAP fault quoting such an answer escapes its
// '&' (&amp;#60;password&amp;#62;), and Go's JSON encoder writes that '&'
// as \u0026 (\u0026#60;password\u0026#62;: the form of a real API's
// "description" field, testdata/README.md). xmlForms read the code-point
// forms only as they are, so each of these quoted the secret in clear.
func TestRedactShapesEscapedNumericRefs(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"escaped twice, decimal",
			`<faultstring>bad request: &amp;#60;password&amp;#62;hunter2&amp;#60;/password&amp;#62;</faultstring>`,
			`<faultstring>bad request: &amp;#60;password&amp;#62;[REDACTED]&amp;#60;/password&amp;#62;</faultstring>`},
		{"escaped twice, hex with leading zeros",
			`&amp;#x003C;SessionToken&amp;#x003E;FwoGZXIvYXdz&amp;#x003C;/SessionToken&amp;#x003E;`,
			`&amp;#x003C;SessionToken&amp;#x003E;[REDACTED]&amp;#x003C;/SessionToken&amp;#x003E;`},
		{"escaped twice, '>' escaped once (Woodstox's '>' as is, escaped again)",
			`&amp;#60;password&gt;hunter2&amp;#60;/password&gt;`,
			`&amp;#60;password&gt;[REDACTED]&amp;#60;/password&gt;`},
		{"JSON-escaped, decimal",
			`{"description":"\u0026#60;password\u0026#62;hunter2\u0026#60;/password\u0026#62;"}`,
			`{"description":"\u0026#60;password\u0026#62;[REDACTED]\u0026#60;/password\u0026#62;"}`},
		{"JSON-escaped, hex, '>' by the JSON encoder",
			`{"xml":"\u0026#x3c;ns:ClientSecret\u003eQp8~abc.DEF\u0026#x3c;/ns:ClientSecret\u003e"}`,
			`{"xml":"\u0026#x3c;ns:ClientSecret\u003e[REDACTED]\u0026#x3c;/ns:ClientSecret\u003e"}`},
		{"escaped twice, CDATA",
			`&amp;#60;password&amp;#62;&amp;#60;![CDATA[hun&lt;b&gt;ter2]]&amp;#62;&amp;#60;/password&amp;#62;&amp;#60;user&amp;#62;bob&amp;#60;/user&amp;#62;`,
			`&amp;#60;password&amp;#62;[REDACTED]&amp;#60;/password&amp;#62;&amp;#60;user&amp;#62;bob&amp;#60;/user&amp;#62;`},
		{"escaped twice, name/value pair",
			`&amp;#60;Key&amp;#62;API_KEY&amp;#60;/Key&amp;#62;&amp;#60;Value&amp;#62;hunter2&amp;#60;/Value&amp;#62;`,
			`&amp;#60;Key&amp;#62;API_KEY&amp;#60;/Key&amp;#62;&amp;#60;Value&amp;#62;[REDACTED]&amp;#60;/Value&amp;#62;`},
		{"JSON-escaped, XML-RPC value before its name",
			`{"req":"\u0026#60;member\u0026#62;\u0026#60;value\u0026#62;\u0026#60;string\u0026#62;hunter2\u0026#60;/string\u0026#62;\u0026#60;/value\u0026#62;\u0026#60;name\u0026#62;password\u0026#60;/name\u0026#62;\u0026#60;/member\u0026#62;"}`,
			`{"req":"\u0026#60;member\u0026#62;\u0026#60;value\u0026#62;[REDACTED]\u0026#60;/value\u0026#62;\u0026#60;name\u0026#62;password\u0026#60;/name\u0026#62;\u0026#60;/member\u0026#62;"}`},
		{"escaped twice, attributes",
			`&amp;#60;add key=&amp;quot;ApiKey&amp;quot; value=&amp;quot;hunter2&amp;quot;/&amp;#62;&amp;#60;add key=&amp;#039;Owner&amp;#039; value=&amp;#039;soc-team&amp;#039;/&amp;#62;`,
			`&amp;#60;add key=&amp;quot;ApiKey&amp;quot; value=&amp;quot;[REDACTED]&amp;quot;/&amp;#62;&amp;#60;add key=&amp;#039;Owner&amp;#039; value=&amp;#039;soc-team&amp;#039;/&amp;#62;`},
		{"cut inside the text",
			`\u0026#060;password\u0026#062;hunter2`,
			`\u0026#060;password\u0026#062;[REDACTED]`},
		// Left alone: other elements, the real field's HTML, other
		// code points.
		{"other elements",
			`&amp;#60;user&amp;#62;bob&amp;#60;/user&amp;#62;{"description":"\u0026#60;p\u0026#62;ok\u0026#60;\/p\u0026#62;"}`,
			`&amp;#60;user&amp;#62;bob&amp;#60;/user&amp;#62;{"description":"\u0026#60;p\u0026#62;ok\u0026#60;\/p\u0026#62;"}`},
		{"other code points",
			`&amp;#600;password&amp;#62;hunter2 \u0026#x3C0;password\u0026#x3E;pi &amp;#;password&amp;#62;x`,
			`&amp;#600;password&amp;#62;hunter2 \u0026#x3C0;password\u0026#x3E;pi &amp;#;password&amp;#62;x`},
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
