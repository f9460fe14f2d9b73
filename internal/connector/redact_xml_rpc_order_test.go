package connector

import (
	"strings"
	"testing"
)

// An XML-RPC struct member holds a <name> and a <value> (the XML-RPC
// specification's prose names no order; its example writes the name
// first, and a writer that builds members from a map, or a parser that
// reads them in document order, may not: testdata/README.md). A member
// whose value, holding elements (<value><string>…</string></value>),
// came before a secret's name was quoted in clear: the value holding
// elements was hidden only when the name was already read.
func TestRedactShapesXMLRPCValueBeforeName(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"value, then name",
			`<member><value><string>s3cr3t</string></value><name>password</name></member>`,
			`<member><value>[REDACTED]</value><name>password</name></member>`},
		{"in a struct, members in both orders",
			`<methodCall><methodName>login</methodName><params><param><value><struct>` +
				`<member><value><string>bob</string></value><name>user</name></member>` +
				`<member><value><string>s3cr3t</string></value><name>password</name></member>` +
				`<member><name>api_key</name><value><string>k-7f3a9c</string></value></member>` +
				`</struct></value></param></params></methodCall>`,
			`<methodCall><methodName>login</methodName><params><param><value><struct>` +
				`<member><value><string>bob</string></value><name>user</name></member>` +
				`<member><value>[REDACTED]</value><name>password</name></member>` +
				`<member><name>api_key</name><value>[REDACTED]</value></member>` +
				`</struct></value></param></params></methodCall>`},
		{"with white space, a namespace prefix and capitals",
			"<member>\n  <Value><x:string>s3cr3t</x:string></Value>\n  <Name>DB_PASSWORD</Name>\n</member>",
			"<member>\n  <Value>[REDACTED]</Value>\n  <Name>DB_PASSWORD</Name>\n</member>"},
		{"a struct as the value, hidden whole",
			`<member><value><struct><member><name>host</name><value><string>db-01</string></value></member></struct></value><name>credentials_token</name></member>`,
			`<member><value>[REDACTED]</value><name>credentials_token</name></member>`},
		{"a secret member inside the value of another",
			`<member><value><struct><member><value><string>s3cr3t</string></value><name>password</name></member></struct></value><name>login</name></member>`,
			`<member><value><struct><member><value>[REDACTED]</value><name>password</name></member></struct></value><name>login</name></member>`},
		{"escaped, in a fault",
			`<faultString>bad params: &lt;member&gt;&lt;value&gt;&lt;string&gt;s3cr3t&lt;/string&gt;&lt;/value&gt;&lt;name&gt;password&lt;/name&gt;&lt;/member&gt;</faultString>`,
			`<faultString>bad params: &lt;member&gt;&lt;value&gt;[REDACTED]&lt;/value&gt;&lt;name&gt;password&lt;/name&gt;&lt;/member&gt;</faultString>`},
		{"JSON-escaped",
			`{"received":"\u003cmember\u003e\u003cvalue\u003e\u003cstring\u003es3cr3t\u003c/string\u003e\u003c/value\u003e\u003cname\u003etoken\u003c/name\u003e\u003c/member\u003e"}`,
			`{"received":"\u003cmember\u003e\u003cvalue\u003e[REDACTED]\u003c/value\u003e\u003cname\u003etoken\u003c/name\u003e\u003c/member\u003e"}`},
		{"CloudFormation's pair, value holding elements first",
			`<member><ParameterValue><b>s3cr3t</b></ParameterValue><ParameterKey>DbPassword</ParameterKey></member>`,
			`<member><ParameterValue>[REDACTED]</ParameterValue><ParameterKey>DbPassword</ParameterKey></member>`},
		// Left alone: other names, a name in another member, a
		// secret's name that only ends a word.
		{"other names",
			`<struct><member><value><string>web-01</string></value><name>host</name></member><member><value><i4>12</i4></value><name>passwordLength</name></member></struct>`,
			`<struct><member><value><string>web-01</string></value><name>host</name></member><member><value><i4>12</i4></value><name>passwordLength</name></member></struct>`},
		{"the name of the next member",
			`<struct><member><value><string>bob</string></value><name>user</name></member><member><name>password</name><value><string>s3cr3t</string></value></member></struct>`,
			`<struct><member><value><string>bob</string></value><name>user</name></member><member><name>password</name><value>[REDACTED]</value></member></struct>`},
		{"a name after the member's end",
			`<array><data><value><string>alice</string></value></data></array><name>password</name>`,
			`<array><data><value><string>alice</string></value></data></array><name>password</name>`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactShapes(tt.in); got != tt.want {
				t.Errorf("RedactShapes(%s)\n = %s\nwant %s", tt.in, got, tt.want)
			}
			if got := RedactShapes(tt.want); got != tt.want {
				t.Errorf("not idempotent: RedactShapes(%s) = %s", tt.want, got)
			}
			if s := Snippet([]byte(tt.in)); strings.Contains(tt.want, redacted) && strings.Contains(s, "s3cr3t") {
				t.Errorf("Snippet(%s) = %s", tt.in, s)
			}
		})
	}
}

// The values read before their names (scan's later) were one stack for
// every form, and an end tag was checked against its top only when that
// was of its own form: a value of another form opened inside and never
// closed (a string holding XML quoted escaped and cut, &lt;value&gt;
// &lt;struct&gt;…) hid the end of the value around it, which was then
// never a value of its run, and the secret after it was quoted in clear.
// Tags of different forms do not pair (pairXML): each form's values
// before their names are a stack of their own.
func TestRedactShapesXMLRPCValueBeforeNameAcrossForms(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"an escaped value cut inside the string",
			`<member><value><string>&lt;value&gt;&lt;struct&gt;s3cr3t</string></value><name>password</name></member>`,
			`<member><value>[REDACTED]</value><name>password</name></member>`},
		{"a JSON-escaped value cut inside the string",
			`<member><value><string>\u003cvalue\u003e\u003carray\u003es3cr3t</string></value><name>password</name></member>`,
			`<member><value>[REDACTED]</value><name>password</name></member>`},
		{"escaped member, a raw value cut inside its string",
			`&lt;member&gt;&lt;value&gt;&lt;string&gt;<value><b>s3cr3t&lt;/string&gt;&lt;/value&gt;&lt;name&gt;password&lt;/name&gt;&lt;/member&gt;`,
			`&lt;member&gt;&lt;value&gt;[REDACTED]&lt;/value&gt;&lt;name&gt;password&lt;/name&gt;&lt;/member&gt;`},
		// Left alone: the same member under another name.
		{"other names",
			`<member><value><string>&lt;value&gt;&lt;struct&gt;web-01</string></value><name>host</name></member>`,
			`<member><value><string>&lt;value&gt;&lt;struct&gt;web-01</string></value><name>host</name></member>`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactShapes(tt.in); got != tt.want {
				t.Errorf("RedactShapes(%s)\n = %s\nwant %s", tt.in, got, tt.want)
			}
			if got := RedactShapes(tt.want); got != tt.want {
				t.Errorf("not idempotent: RedactShapes(%s) = %s", tt.want, got)
			}
			if s := Snippet([]byte(tt.in)); strings.Contains(tt.want, redacted) && strings.Contains(s, "s3cr3t") {
				t.Errorf("Snippet(%s) = %s", tt.in, s)
			}
		})
	}
}
