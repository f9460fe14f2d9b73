package connector

import (
	"strings"
	"testing"
)

// Forms of quoted XML the scanner did not read, each leaving a secret in
// clear:
//   - numeric character references (&#60;password&#62;, &#x3C;…): XML
//     writers that escape by code point, and HTML encoders (.NET's
//     AntiXss, OWASP's Java encoder) that write every '<' so;
//   - XML escaped twice (&amp;lt;password&amp;gt;): a SOAP fault's
//     escaped detail quoted again in an HTML error page or XML log;
//   - escaped XML in a JSON string written by Go's encoding/json, which
//     escapes the '&' of &lt; too (\u0026lt;password\u0026gt;);
//   - the attribute quotes of those forms (&#34;, &amp;quot;,
//     \u0026quot;, \u0022).
func TestRedactShapesMoreEscapedForms(t *testing.T) {
	for _, tt := range []struct{ name, in, want, gone string }{
		{"decimal references",
			`<detail>&#60;Login&#62;&#60;user&#62;bob&#60;/user&#62;&#60;password&#62;Tr0ub4dor3x&#60;/password&#62;&#60;/Login&#62;</detail>`,
			`<detail>&#60;Login&#62;&#60;user&#62;bob&#60;/user&#62;&#60;password&#62;[REDACTED]&#60;/password&#62;&#60;/Login&#62;</detail>`,
			"Tr0ub4dor3x"},
		{"hex references in capitals",
			`<pre>&#x3C;SessionToken&#x3E;FwoGZXIvYXdzEXAMPLE&#x3C;/SessionToken&#x3E;</pre>`,
			`<pre>&#x3C;SessionToken&#x3E;[REDACTED]&#x3C;/SessionToken&#x3E;</pre>`,
			"FwoGZXIvYXdz"},
		{"decimal '<' only",
			`Unmarshalling Error: &#60;password>Tr0ub4dor3x&#60;/password>`,
			`Unmarshalling Error: &#60;password>[REDACTED]&#60;/password>`,
			"Tr0ub4dor3x"},
		{"escaped twice",
			`<p>Fault: &amp;lt;ns2:ClientSecret&amp;gt;Qp8~abc.DEF_ghi-123&amp;lt;/ns2:ClientSecret&amp;gt;</p>`,
			`<p>Fault: &amp;lt;ns2:ClientSecret&amp;gt;[REDACTED]&amp;lt;/ns2:ClientSecret&amp;gt;</p>`,
			"Qp8~abc"},
		{"escaped XML in Go's JSON",
			`{"error":"bad request","received":"\u0026lt;password\u0026gt;Tr0ub4dor3x\u0026lt;/password\u0026gt;"}`,
			`{"error":"bad request","received":"\u0026lt;password\u0026gt;[REDACTED]\u0026lt;/password\u0026gt;"}`,
			"Tr0ub4dor3x"},
		{"pair escaped twice",
			`<p>&amp;lt;member&amp;gt;&amp;lt;Key&amp;gt;DB_PASSWORD&amp;lt;/Key&amp;gt;&amp;lt;Value&amp;gt;hunter2secret&amp;lt;/Value&amp;gt;&amp;lt;/member&amp;gt;</p>`,
			`<p>&amp;lt;member&amp;gt;&amp;lt;Key&amp;gt;DB_PASSWORD&amp;lt;/Key&amp;gt;&amp;lt;Value&amp;gt;[REDACTED]&amp;lt;/Value&amp;gt;&amp;lt;/member&amp;gt;</p>`,
			"hunter2secret"},
		{"attribute pair with &#34; quotes",
			`&lt;add key=&#34;ApiKey&#34; value=&#34;Tr0ub4dor3x&#34;/&gt;`,
			`&lt;add key=&#34;ApiKey&#34; value=&#34;[REDACTED]&#34;/&gt;`,
			"Tr0ub4dor3x"},
		{"attribute pair escaped twice",
			`&amp;lt;add key=&amp;quot;ApiKey&amp;quot; value=&amp;quot;Tr0ub4dor3x&amp;quot; /&amp;gt;`,
			`&amp;lt;add key=&amp;quot;ApiKey&amp;quot; value=&amp;quot;[REDACTED]&amp;quot; /&amp;gt;`,
			"Tr0ub4dor3x"},
		{"attribute pair in Go's JSON",
			`{"received":"\u0026lt;add key=\u0026quot;ApiKey\u0026quot; value=\u0026quot;Tr0ub4dor3x\u0026quot;/\u0026gt;"}`,
			`{"received":"\u0026lt;add key=\u0026quot;ApiKey\u0026quot; value=\u0026quot;[REDACTED]\u0026quot;/\u0026gt;"}`,
			"Tr0ub4dor3x"},
		{"attribute pair with \\u0022 quotes",
			`{"received":"\u003cadd key=\u0022ApiKey\u0022 value=\u0022Tr0ub4dor3x\u0022/\u003e"}`,
			`{"received":"\u003cadd key=\u0022ApiKey\u0022 value=\u0022[REDACTED]\u0022/\u003e"}`,
			"Tr0ub4dor3x"},
		// A reference in a raw element's text is text, not its end.
		{"reference in raw text",
			`<password>p&#60;Qa&#62;9x</password>`,
			`<password>[REDACTED]</password>`,
			"Qa"},
		// Not a secret's: kept.
		{"not secret",
			`&#60;user&#62;bob&#60;/user&#62; &amp;lt;NextToken&amp;gt;page-3&amp;lt;/NextToken&amp;gt;`,
			`&#60;user&#62;bob&#60;/user&#62; &amp;lt;NextToken&amp;gt;page-3&amp;lt;/NextToken&amp;gt;`, ""},
	} {
		got := RedactShapes(tt.in)
		if got != tt.want {
			t.Errorf("%s: RedactShapes(%s)\n got %s\nwant %s", tt.name, tt.in, got, tt.want)
		}
		if tt.gone != "" && strings.Contains(got, tt.gone) {
			t.Errorf("%s: RedactShapes kept %q", tt.name, tt.gone)
		}
	}
}

// A secret's value that is not a text-only element was kept:
//   - XML-RPC (WordPress, Odoo, Bugzilla, Confluence's remote API) writes a
//     struct member as <member><name>password</name><value><string>…
//     </string></value></member>: the value holds a typed element;
//   - an Apple property list (MDM profiles, macOS preferences) writes
//     <key>Password</key><string>…</string>: the value is the element
//     after the key, named by its type;
//   - a secret element holding elements (<password><value>…</value>
//     </password>, <ClientSecret><![CDATA[…]]><b/>…</ClientSecret>).
func TestRedactShapesNestedSecretValues(t *testing.T) {
	for _, tt := range []struct{ name, in, want, gone string }{
		{"XML-RPC struct member",
			`<methodCall><methodName>wp.getPosts</methodName><params><param><value><struct><member><name>username</name><value><string>bob</string></value></member><member><name>password</name><value><string>Tr0ub4dor3x</string></value></member></struct></value></param></params></methodCall>`,
			`<methodCall><methodName>wp.getPosts</methodName><params><param><value><struct><member><name>username</name><value><string>bob</string></value></member><member><name>password</name><value>[REDACTED]</value></member></struct></value></param></params></methodCall>`,
			"Tr0ub4dor3x"},
		{"XML-RPC member with an array value",
			`<member><name>api_key</name><value><array><data><value><string>k1-Tr0ub4dor3x</string></value><value><string>k2-Zx9Qw8Er7Ty</string></value></data></array></value></member><member><name>n</name><value><int>3</int></value></member>`,
			`<member><name>api_key</name><value>[REDACTED]</value></member><member><name>n</name><value><int>3</int></value></member>`,
			"Tr0ub4dor3x"},
		{"property list",
			`<dict><key>Password</key><string>Tr0ub4dor3x</string><key>UserName</key><string>bob</string><key>ClientSecret</key><data>UXA4fmFiYy5ERUZfZ2hp</data></dict>`,
			`<dict><key>Password</key><string>[REDACTED]</string><key>UserName</key><string>bob</string><key>ClientSecret</key><data>[REDACTED]</data></dict>`,
			"Tr0ub4dor3x"},
		{"property list escaped",
			`&lt;dict&gt;&lt;key&gt;Password&lt;/key&gt;&lt;string&gt;Tr0ub4dor3x&lt;/string&gt;&lt;/dict&gt;`,
			`&lt;dict&gt;&lt;key&gt;Password&lt;/key&gt;&lt;string&gt;[REDACTED]&lt;/string&gt;&lt;/dict&gt;`,
			"Tr0ub4dor3x"},
		{"secret element holding an element",
			`<login><user>bob</user><password><value>Tr0ub4dor3x</value></password><lang>en</lang></login>`,
			`<login><user>bob</user><password>[REDACTED]</password><lang>en</lang></login>`,
			"Tr0ub4dor3x"},
		{"secret element holding text and elements",
			`<ClientSecret>Qp8~<b/>abc.DEF_ghi-123</ClientSecret><x>1</x>`,
			`<ClientSecret>[REDACTED]</ClientSecret><x>1</x>`,
			"abc.DEF"},
		{"secret element holding an element, cut",
			`<password><value>Tr0ub4dor3x`,
			`<password>[REDACTED]`,
			"Tr0ub4dor3x"},
		// Not a secret's: kept.
		{"not secret",
			`<member><name>title</name><value><string>Hello</string></value></member><dict><key>UserName</key><string>bob</string></dict>`,
			`<member><name>title</name><value><string>Hello</string></value></member><dict><key>UserName</key><string>bob</string></dict>`, ""},
	} {
		got := RedactShapes(tt.in)
		if got != tt.want {
			t.Errorf("%s: RedactShapes(%s)\n got %s\nwant %s", tt.name, tt.in, got, tt.want)
		}
		if tt.gone != "" && strings.Contains(got, tt.gone) {
			t.Errorf("%s: RedactShapes kept %q", tt.name, tt.gone)
		}
	}
}
