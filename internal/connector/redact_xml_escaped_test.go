package connector

import (
	"encoding/json"
	"strings"
	"testing"
)

// An XML element named as a secret key (<password>…</password>,
// <SessionToken>, <ns:ClientSecret …>) was hidden only as raw markup. A
// vendor quoting the XML it received (a SOAP fault's detail, an HTML error
// page, a JSON error's "received" field) writes it escaped, &lt;password&gt;
// or, as encoding/json does, \u003cpassword\u003e: the element's text was
// then quoted in clear, and so was a text cut inside the element (Snippet's
// cut, or a vendor's), unless the cut was Snippet's at 64 KiB of raw XML.
// The XML name/value pairs (redactXMLNameValues) already read every form.
func TestRedactShapesEscapedSecretElements(t *testing.T) {
	for _, tt := range []struct{ name, in, want, gone string }{
		// Escaped as XML or HTML text: a SOAP fault quoting the request.
		{"html-escaped",
			`<soap:Fault><faultstring>Invalid login</faultstring><detail>&lt;Login&gt;&lt;user&gt;bob&lt;/user&gt;&lt;password&gt;Tr0ub4dor3x&lt;/password&gt;&lt;/Login&gt;</detail></soap:Fault>`,
			`<soap:Fault><faultstring>Invalid login</faultstring><detail>&lt;Login&gt;&lt;user&gt;bob&lt;/user&gt;&lt;password&gt;[REDACTED]&lt;/password&gt;&lt;/Login&gt;</detail></soap:Fault>`,
			"Tr0ub4dor3x"},
		{"html-escaped in a page",
			`<html><body><h1>400 Bad Request</h1><pre>&lt;Credentials&gt;&lt;SessionToken&gt;FwoGZXIvYXdz EXAMPLE&lt;/SessionToken&gt;&lt;/Credentials&gt;</pre><p>Contact support.</p></body></html>`,
			`<html><body><h1>400 Bad Request</h1><pre>&lt;Credentials&gt;&lt;SessionToken&gt;[REDACTED]&lt;/SessionToken&gt;&lt;/Credentials&gt;</pre><p>Contact support.</p></body></html>`,
			"FwoGZXIvYXdz"},
		{"html-escaped with a namespace and &quot; attribute",
			`Fault detail: &lt;ns2:ClientSecret xmlns:ns2=&quot;urn:x&quot;&gt;Qp8~abc.DEF_ghi-123&lt;/ns2:ClientSecret&gt; (request 42)`,
			`Fault detail: &lt;ns2:ClientSecret xmlns:ns2=&quot;urn:x&quot;&gt;[REDACTED]&lt;/ns2:ClientSecret&gt; (request 42)`,
			"Qp8~abc"},
		// Escaped as Go's encoding/json writes it (and .NET's, in capitals).
		{"json-escaped",
			`{"error":"invalid_request","received":"\u003cLogin\u003e\u003cuser\u003ebob\u003c/user\u003e\u003cpassword\u003eTr0ub4dor3x\u003c/password\u003e\u003c/Login\u003e","id":7}`,
			`{"error":"invalid_request","received":"\u003cLogin\u003e\u003cuser\u003ebob\u003c/user\u003e\u003cpassword\u003e[REDACTED]\u003c/password\u003e\u003c/Login\u003e","id":7}`,
			"Tr0ub4dor3x"},
		{"json-escaped in capitals",
			`{"Message":"\u003CPassword\u003ETr0ub4dor3x\u003C/Password\u003E rejected"}`,
			`{"Message":"\u003CPassword\u003E[REDACTED]\u003C/Password\u003E rejected"}`,
			"Tr0ub4dor3x"},
		{"json-escaped with a namespace and \\\" attribute",
			`{"received":"\u003cns:ClientSecret xmlns:ns=\"urn:x\"\u003eQp8~abc.DEF_ghi-123\u003c/ns:ClientSecret\u003e"}`,
			`{"received":"\u003cns:ClientSecret xmlns:ns=\"urn:x\"\u003e[REDACTED]\u003c/ns:ClientSecret\u003e"}`,
			"Qp8~abc"},
		// Raw markup inside a JSON string: \n and \" in the value, and
		// XML in JSON quoted in a JSON string (\\\" and \\n).
		{"raw in a JSON string",
			`{"received":"<Login>\n  <user>bob</user>\n  <password>Tr0ub\"4dor\n3x</password>\n</Login>"}`,
			`{"received":"<Login>\n  <user>bob</user>\n  <password>[REDACTED]</password>\n</Login>"}`,
			"Tr0ub"},
		{"raw in JSON in a JSON string",
			`{"body":"{\"xml\":\"<password>Tr0ub\\\"4dor\\n3x</password>\",\"user\":\"bob\"}"}`,
			`{"body":"{\"xml\":\"<password>[REDACTED]</password>\",\"user\":\"bob\"}"}`,
			"Tr0ub"},
		// CDATA in each escaped form, holding what reads as a tag.
		{"html-escaped CDATA",
			`<detail>&lt;password&gt;&lt;![CDATA[Tr0ub&lt;b&gt;4dor]]&gt;&lt;/password&gt;&lt;user&gt;bob&lt;/user&gt;</detail>`,
			`<detail>&lt;password&gt;[REDACTED]&lt;/password&gt;&lt;user&gt;bob&lt;/user&gt;</detail>`,
			"4dor"},
		{"json-escaped CDATA",
			`{"received":"\u003cpassword\u003e\u003c![CDATA[Tr0ub\u003cb\u003e4dor]]\u003e\u003c/password\u003e\u003cuser\u003ebob\u003c/user\u003e"}`,
			`{"received":"\u003cpassword\u003e[REDACTED]\u003c/password\u003e\u003cuser\u003ebob\u003c/user\u003e"}`,
			"4dor"},
		{"raw CDATA in a JSON string",
			`{"received":"<password><![CDATA[Tr0ub\"<b>4dor]]></password><user>bob</user>"}`,
			`{"received":"<password>[REDACTED]</password><user>bob</user>"}`,
			"4dor"},
		// An escaped pair's name in an escaped CDATA section.
		{"html-escaped CDATA pair name",
			`&lt;member&gt;&lt;Key&gt;&lt;![CDATA[DB_PASSWORD]]&gt;&lt;/Key&gt;&lt;Value&gt;hunter2secret&lt;/Value&gt;&lt;/member&gt;`,
			`&lt;member&gt;&lt;Key&gt;&lt;![CDATA[DB_PASSWORD]]&gt;&lt;/Key&gt;&lt;Value&gt;[REDACTED]&lt;/Value&gt;&lt;/member&gt;`,
			"hunter2secret"},
		// A raw element inside another element's CDATA section is still
		// found (as it was before the escaped forms).
		{"raw inside CDATA",
			`<detail><![CDATA[<request><user>bob</user><password>Tr0ub4dor3x</password></request>]]></detail>`,
			`<detail><![CDATA[<request><user>bob</user><password>[REDACTED]</password></request>]]></detail>`,
			"Tr0ub4dor3x"},
		// Cut inside the value (Snippet's cut, a vendor's): hidden to the
		// end, in every form, CDATA or not.
		{"cut, html-escaped", `<detail>&lt;Login&gt;&lt;user&gt;bob&lt;/user&gt;&lt;password&gt;correct horse`, `<detail>&lt;Login&gt;&lt;user&gt;bob&lt;/user&gt;&lt;password&gt;[REDACTED]`, "horse"},
		{"cut, json-escaped", `{"received":"\u003cuser\u003ebob\u003c/user\u003e\u003cpassword\u003ecorrect horse`, `{"received":"\u003cuser\u003ebob\u003c/user\u003e\u003cpassword\u003e[REDACTED]`, "horse"},
		{"cut, raw in a JSON string", `{"received":"<user>bob</user>\n<password>correct \"horse`, `{"received":"<user>bob</user>\n<password>[REDACTED]`, "horse"},
		{"cut, html-escaped CDATA", `&lt;user&gt;bob&lt;/user&gt;&lt;password&gt;&lt;![CDATA[correct &lt;b&gt; horse`, `&lt;user&gt;bob&lt;/user&gt;&lt;password&gt;[REDACTED]`, "horse"},
		{"cut, json-escaped CDATA", `\u003cuser\u003ebob\u003c/user\u003e\u003cpassword\u003e\u003c![CDATA[correct \u003cb\u003e horse`, `\u003cuser\u003ebob\u003c/user\u003e\u003cpassword\u003e[REDACTED]`, "horse"},
		{"cut in the end tag", `&lt;password&gt;correct horse&lt;/pass`, `&lt;password&gt;[REDACTED]&lt;/pass`, "horse"},
		// Not secret names, in escaped form: kept. NextToken is a cursor
		// (AWS pagination), not a credential.
		{"not secret, html-escaped", `<detail>&lt;user&gt;bob&lt;/user&gt;&lt;NextToken&gt;page-3&lt;/NextToken&gt;&lt;PasswordPolicy&gt;12 chars&lt;/PasswordPolicy&gt;</detail>`,
			`<detail>&lt;user&gt;bob&lt;/user&gt;&lt;NextToken&gt;page-3&lt;/NextToken&gt;&lt;PasswordPolicy&gt;12 chars&lt;/PasswordPolicy&gt;</detail>`, ""},
		{"not secret, json-escaped", `{"received":"\u003cuser\u003ebob\u003c/user\u003e\u003cNextToken\u003epage-3\u003c/NextToken\u003e"}`,
			`{"received":"\u003cuser\u003ebob\u003c/user\u003e\u003cNextToken\u003epage-3\u003c/NextToken\u003e"}`, ""},
		// An escaped tag named in prose of a raw page, the page's own end
		// tag after it: no element of the escaped document, kept.
		{"escaped tag in prose", `<p>Send your &lt;password&gt; element in the body</p>`, `<p>Send your &lt;password&gt; element in the body</p>`, ""},
	} {
		got := RedactShapes(tt.in)
		if got != tt.want {
			t.Errorf("%s: RedactShapes(%s)\n got %s\nwant %s", tt.name, tt.in, got, tt.want)
		}
		if again := RedactShapes(got); again != got {
			t.Errorf("%s: not idempotent:\n%s\n%s", tt.name, got, again)
		}
		if tt.gone != "" {
			if s := Snippet([]byte(tt.in)); strings.Contains(s, tt.gone) {
				t.Errorf("%s: Snippet = %s: still holds %q", tt.name, s, tt.gone)
			}
		}
	}
}

// The form encoding/json writes, built by it: an XML request quoted as a
// JSON string field ('<', '>' and '&' as \u003c, \u003e, \u0026).
func TestRedactShapesSecretElementInMarshaledJSON(t *testing.T) {
	xml := `<Login><user>bob</user><password>Tr0ub4dor&3x "x"</password><SessionToken><![CDATA[FwoG<ZXIv>YXdz]]></SessionToken></Login>`
	b, err := json.Marshal(map[string]string{"received": xml})
	if err != nil {
		t.Fatal(err)
	}
	in := string(b)
	got := RedactShapes(in)
	for _, gone := range []string{"Tr0ub4dor", "FwoG", "YXdz"} {
		if strings.Contains(got, gone) {
			t.Errorf("RedactShapes(%s) = %s: still holds %q", in, got, gone)
		}
	}
	if !strings.Contains(got, `\u003cuser\u003ebob\u003c/user\u003e`) {
		t.Errorf("RedactShapes(%s) = %s: lost the user", in, got)
	}
}
