package connector

import (
	"strings"
	"testing"
)

// A text holding '<' or '>' is written escaped (&lt;, &gt;): Java's
// Properties.storeToXML and Python's plistlib do so (testdata/README.md).
// The name/value scan reads escaped markup as tags, so
// <entry key="db.password">p&lt;Qa&gt;9x</entry> and a property list's
// <key>Password</key><string>p&lt;Qa&gt;9x</string> were not leaves: the
// key attribute or key element named nothing, and the secret was quoted
// in clear (a <Value> so written was hidden whole already: an element a
// secret's name names is hidden to its end tag; these two are now too).
func TestRedactShapesXMLEscapedMarkupInNamedText(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"Java's Properties XML",
			`<properties><entry key="db.password">p&lt;Qa&gt;9x</entry><entry key="db.user">svc</entry></properties>`,
			`<properties><entry key="db.password">[REDACTED]</entry><entry key="db.user">svc</entry></properties>`},
		{"Java's Properties XML in a string of Go's JSON",
			`{"config":"\u003centry key=\"db.password\"\u003ep\u0026lt;Qa\u0026gt;9x\u003c/entry\u003e\u003centry key=\"db.user\"\u003esvc\u003c/entry\u003e"}`,
			`{"config":"\u003centry key=\"db.password\"\u003e[REDACTED]\u003c/entry\u003e\u003centry key=\"db.user\"\u003esvc\u003c/entry\u003e"}`},
		{"a property list",
			"<dict>\n\t<key>Password</key>\n\t<string>p&lt;Qa&gt;9x</string>\n\t<key>UserName</key>\n\t<string>bob</string>\n</dict>",
			"<dict>\n\t<key>Password</key>\n\t<string>[REDACTED]</string>\n\t<key>UserName</key>\n\t<string>bob</string>\n</dict>"},
		{"a property list, escaped by code point",
			`<dict><key>ClientSecret</key><string>Qp8&#60;x&#62;abc</string><key>UserName</key><string>bob</string></dict>`,
			`<dict><key>ClientSecret</key><string>[REDACTED]</string><key>UserName</key><string>bob</string></dict>`},
		// Left alone: the same texts under other names, and elements a
		// key names that hold elements of the document's own form
		// (Spring's map entry referring to a bean: a name, not the
		// secret; a <value> child is hidden as a value the key names).
		{"Spring's map entry holding a reference",
			`<map><entry key="password"><ref bean="dbPassword"/></entry><entry key="token"><value>s3cr3t</value></entry></map>`,
			`<map><entry key="password"><ref bean="dbPassword"/></entry><entry key="token"><value>[REDACTED]</value></entry></map>`},
		{"other names",
			`<entry key="db.user">s&lt;v&gt;c</entry><dict><key>UserName</key><string>b&lt;o&gt;b</string></dict>`,
			`<entry key="db.user">s&lt;v&gt;c</entry><dict><key>UserName</key><string>b&lt;o&gt;b</string></dict>`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactShapes(tt.in); got != tt.want {
				t.Errorf("RedactShapes(%s)\n = %s\nwant %s", tt.in, got, tt.want)
			}
			if got := RedactShapes(tt.want); got != tt.want {
				t.Errorf("not idempotent: RedactShapes(%s) = %s", tt.want, got)
			}
			for _, secret := range []string{"9x", "Qp8"} {
				if s := Snippet([]byte(tt.in)); strings.Contains(tt.want, redacted) && strings.Contains(s, secret) {
					t.Errorf("Snippet(%s) = %s", tt.in, s)
				}
			}
		})
	}
}
