package connector

import (
	"strings"
	"testing"
)

// An element holding elements (<password><value>…</value></password>,
// XML-RPC's <value><string>…</string></value>) is hidden to its end tag,
// found by pairing start and end tags (pairXML). The pairing read the
// markup inside CDATA sections as tags, so an end tag quoted in a CDATA
// text (<![CDATA[</value>]]>: a text holding '<', or XML quoted in XML)
// closed the element early and what followed it was quoted in clear. A
// CDATA section's tags pair among themselves: an element inside one
// closes inside it (or at the section's end, when it never does), one
// around it closes outside it.
func TestRedactShapesCDATAInElementPairing(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"secret element, an end tag in a CDATA text",
			`<password><value><![CDATA[</password>]]>hunter2</value></password><user>bob</user>`,
			`<password>[REDACTED]</password><user>bob</user>`},
		{"XML-RPC value, an end tag in a CDATA text",
			`<member><name>password</name><value><string><![CDATA[a</value>]]>hunter2</string></value></member>`,
			`<member><name>password</name><value>[REDACTED]</value></member>`},
		{"XML-RPC value, a struct after a CDATA text",
			`<member><name>password</name><value><struct><![CDATA[</value>]]><b>hunter2</b></struct></value></member><member><name>user</name><value><string>bob</string></value></member>`,
			`<member><name>password</name><value>[REDACTED]</value></member><member><name>user</name><value><string>bob</string></value></member>`},
		{"XML-RPC value before its name, an end tag in a CDATA text",
			`<member><value><string><![CDATA[</value>]]>hunter2</string></value><name>password</name></member>`,
			`<member><value>[REDACTED]</value><name>password</name></member>`},
		{"']]' and '>' in the CDATA text",
			`<password><value><![CDATA[a]]b]c>]]]]><![CDATA[></password>]]>hunter2</value></password>`,
			`<password>[REDACTED]</password>`},
		{"escaped",
			`<detail>&lt;password&gt;&lt;value&gt;&lt;![CDATA[&lt;/password&gt;]]&gt;hunter2&lt;/value&gt;&lt;/password&gt;&lt;user&gt;bob&lt;/user&gt;</detail>`,
			`<detail>&lt;password&gt;[REDACTED]&lt;/password&gt;&lt;user&gt;bob&lt;/user&gt;</detail>`},
		{"JSON-escaped",
			`{"xml":"\u003cpassword\u003e\u003cvalue\u003e\u003c![CDATA[\u003c/password\u003e]]\u003ehunter2\u003c/value\u003e\u003c/password\u003e"}`,
			`{"xml":"\u003cpassword\u003e[REDACTED]\u003c/password\u003e"}`},
		{"by code point with leading zeros",
			`&#060;password&#062;&#060;value&#062;&#060;![CDATA[&#060;/password&#062;]]&#062;hunter2&#060;/value&#062;&#060;/password&#062;`,
			`&#060;password&#062;[REDACTED]&#060;/password&#062;`},
		{"quoted XML in a CDATA section, the element never closed in it",
			`<request><![CDATA[<password><value>hunter2</value>]]></request><user>bob</user>`,
			`<request><![CDATA[<password>[REDACTED]]]></request><user>bob</user>`},
		{"quoted XML in a CDATA section, closed",
			`<request><![CDATA[<password><value>hunter2</value></password>]]></request><user>bob</user>`,
			`<request><![CDATA[<password>[REDACTED]</password>]]></request><user>bob</user>`},
		// A writer that wraps XML holding a CDATA section in another
		// section ends the outer one at the inner one's "]]>": the
		// element quoted before it goes on after it.
		{"a CDATA section wrapped in another without splitting its ]]>",
			`<request><![CDATA[<password><![CDATA[ab]]>cd</password>]]></request><user>bob</user>`,
			`<request><![CDATA[<password>[REDACTED]</password>]]></request><user>bob</user>`},
		{"the same, the element holding elements",
			`<request><![CDATA[<password><value><![CDATA[ab]]>cd</value></password>]]></request><user>bob</user>`,
			`<request><![CDATA[<password>[REDACTED]</password>]]></request><user>bob</user>`},
		// Left alone: tags in a CDATA section around other elements, and
		// an element after the section.
		{"other elements",
			`<user><value><![CDATA[</user>]]>bob</value></user><note><![CDATA[<password>]]></note><host>db-01</host>`,
			`<user><value><![CDATA[</user>]]>bob</value></user><note><![CDATA[<password>]]></note><host>db-01</host>`},
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
