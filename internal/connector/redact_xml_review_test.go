package connector

import (
	"strings"
	"testing"
)

// A secret's value holding elements, cut (Snippet's cut, a vendor's)
// after an element inside it ends: the end tags that follow its start
// close elements it holds, not the elements around it, so the text ends
// inside it and it is hidden to the end. It was taken for an unclosed
// tag in prose and kept.
func TestRedactShapesNestedSecretValueCutAfterInnerEnd(t *testing.T) {
	for _, tt := range []struct{ name, in, want, gone string }{
		{"secret element, cut after its child",
			`<login><user>bob</user><password><value>Tr0ub4dor3x</value>`,
			`<login><user>bob</user><password>[REDACTED]`,
			"Tr0ub4dor3x"},
		{"secret element, cut in its end tag",
			`<login><user>bob</user><password><value>Tr0ub4dor3x</value></pass`,
			`<login><user>bob</user><password>[REDACTED]`,
			"Tr0ub4dor3x"},
		{"XML-RPC member, cut after the string",
			`<struct><member><name>username</name><value><string>bob</string></value></member><member><name>password</name><value><string>Tr0ub4dor3x</string>`,
			`<struct><member><name>username</name><value><string>bob</string></value></member><member><name>password</name><value>[REDACTED]`,
			"Tr0ub4dor3x"},
		{"XML-RPC member escaped, cut in the value's end tag",
			`&lt;member&gt;&lt;name&gt;password&lt;/name&gt;&lt;value&gt;&lt;string&gt;Tr0ub4dor3x&lt;/string&gt;&lt;/va`,
			`&lt;member&gt;&lt;name&gt;password&lt;/name&gt;&lt;value&gt;[REDACTED]`,
			"Tr0ub4dor3x"},
		// An unclosed tag in prose is followed by its parent's end tag:
		// not cut, kept as before.
		{"unclosed tag in prose",
			`<p>Enter your <password> and <b>submit</b> it</p><div>request 42</div>`,
			`<p>Enter your <password> and <b>submit</b> it</p><div>request 42</div>`, ""},
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

// An escaped secret element named in a page's prose (an HTML error page
// telling which element is missing) is followed by the page's own tags,
// not by its end tag: it is not an element holding elements, and the
// page after it is kept, as before. It was hidden to the end of the text.
func TestRedactShapesEscapedSecretTagInPageProse(t *testing.T) {
	for _, in := range []string{
		`<html><body><p>Send your &lt;password&gt; element <b>now</b>, as user svc-riposte.</p><p>Request id 42</p></body></html>`,
		`<p>The &lt;SessionToken&gt; element is required.<br>See https://docs.example.com/auth</p><div>request id 42</div>`,
		`<p>Send &lt;password&gt; and &lt;user&gt; elements.</p><p>Request id 42</p>`,
	} {
		if got := RedactShapes(in); got != in {
			t.Errorf("RedactShapes(%s)\n got %s\nwant it kept", in, got)
		}
	}
}

// Attribute quotes as the escapers of each form write them were not read,
// and the value of an <add key="ApiKey" value="…"/> was kept: Go's
// encoding/xml and html escape a double quote as &#34; and a single one
// as &#39;, so escaped XML in Go's JSON reads \u0026#34; and escaped
// twice &amp;#34;; Java's XML escapers write &apos;, Python's html.escape
// &#x27;, .NET's JSON encoder \u0027.
func TestRedactShapesAttributeQuotesOfEachForm(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"Go's escaped XML in Go's JSON",
			`{"request":"\u0026lt;add key=\u0026#34;ApiKey\u0026#34; value=\u0026#34;Tr0ub4dor3x\u0026#34;/\u0026gt;"}`,
			`{"request":"\u0026lt;add key=\u0026#34;ApiKey\u0026#34; value=\u0026#34;[REDACTED]\u0026#34;/\u0026gt;"}`},
		{"Go's escaped XML escaped again",
			`&amp;lt;add key=&amp;#34;ApiKey&amp;#34; value=&amp;#34;Tr0ub4dor3x&amp;#34;/&amp;gt;`,
			`&amp;lt;add key=&amp;#34;ApiKey&amp;#34; value=&amp;#34;[REDACTED]&amp;#34;/&amp;gt;`},
		{"single quotes, &#39;",
			`&lt;add key=&#39;ApiKey&#39; value=&#39;Tr0ub4dor3x&#39;/&gt;`,
			`&lt;add key=&#39;ApiKey&#39; value=&#39;[REDACTED]&#39;/&gt;`},
		{"single quotes, &#39; in Go's JSON",
			`{"request":"\u0026lt;add key=\u0026#39;ApiKey\u0026#39; value=\u0026#39;Tr0ub4dor3x\u0026#39;/\u0026gt;"}`,
			`{"request":"\u0026lt;add key=\u0026#39;ApiKey\u0026#39; value=\u0026#39;[REDACTED]\u0026#39;/\u0026gt;"}`},
		{"single quotes, &apos;",
			`&lt;add key=&apos;ApiKey&apos; value=&apos;Tr0ub4dor3x&apos;/&gt;`,
			`&lt;add key=&apos;ApiKey&apos; value=&apos;[REDACTED]&apos;/&gt;`},
		{"single quotes, &#x27;",
			`&lt;add key=&#x27;ApiKey&#x27; value=&#x27;Tr0ub4dor3x&#x27;/&gt;`,
			`&lt;add key=&#x27;ApiKey&#x27; value=&#x27;[REDACTED]&#x27;/&gt;`},
		{"single quotes, \\u0027",
			`{"request":"\u003Cadd key=\u0027ApiKey\u0027 value=\u0027Tr0ub4dor3x\u0027/\u003E"}`,
			`{"request":"\u003Cadd key=\u0027ApiKey\u0027 value=\u0027[REDACTED]\u0027/\u003E"}`},
	} {
		got := RedactShapes(tt.in)
		if got != tt.want {
			t.Errorf("%s: RedactShapes(%s)\n got %s\nwant %s", tt.name, tt.in, got, tt.want)
		}
		if strings.Contains(got, "Tr0ub4dor3x") {
			t.Errorf("%s: RedactShapes kept the value", tt.name)
		}
	}
}

// A secret's value holding elements ended the run of its name at its end
// tag: a value after it (a pair given two values) was kept, and hidden
// only when the text was redacted again, the first value then a leaf.
func TestRedactShapesValueAfterNestedSecretValue(t *testing.T) {
	in := `<property><name>db.password</name><value><encrypted>Tr0ub4dor3x</encrypted></value><value>hunter2secret</value><description>d</description></property>`
	want := `<property><name>db.password</name><value>[REDACTED]</value><value>[REDACTED]</value><description>d</description></property>`
	once := RedactShapes(in)
	if once != want {
		t.Errorf("RedactShapes(%s)\n got %s\nwant %s", in, once, want)
	}
	if twice := RedactShapes(once); twice != once {
		t.Errorf("RedactShapes not idempotent:\n once %s\ntwice %s", once, twice)
	}
}

// Only a property list's value element follows its key: S3 names an
// object by <Key>, and a key ending in a secret's name (an object
// config/db.password) hid the element after it, the error's RequestId or
// the listing's LastModified, which are not its value.
func TestRedactShapesKeyFollowedByOtherThanPlistValue(t *testing.T) {
	for _, in := range []string{
		`<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>config/db.password</Key><RequestId>4442587FB7D0A2F9</RequestId><HostId>eXample</HostId></Error>`,
		`<ListBucketResult><Contents><Key>prod/api_key</Key><LastModified>2026-01-02T03:04:05.000Z</LastModified><Size>42</Size></Contents></ListBucketResult>`,
	} {
		if got := RedactShapes(in); got != in {
			t.Errorf("RedactShapes(%s)\n got %s\nwant it kept", in, got)
		}
	}
}
