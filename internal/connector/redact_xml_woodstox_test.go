package connector

import (
	"strings"
	"testing"
)

// XML text needs only '<' and '&' escaped: Woodstox (the StAX writer of
// Apache CXF and Jackson's XML module) writes '>' as is unless it follows
// "]]", so a SOAP fault quoting the request it refused holds
// &lt;password>…&lt;/password>. That form was read as no markup at all:
// the secret element's text and the pair's value were left in clear.
func TestRedactShapesEscapedLtOnly(t *testing.T) {
	for _, tt := range []struct{ name, in, want, gone string }{
		{"secret element",
			`<soap:Fault><faultcode>soap:Client</faultcode><faultstring>Unmarshalling Error: &lt;ns2:login xmlns:ns2="http://x/">&lt;username>bob&lt;/username>&lt;password>Tr0ub4dor3x&lt;/password>&lt;/ns2:login></faultstring></soap:Fault>`,
			`<soap:Fault><faultcode>soap:Client</faultcode><faultstring>Unmarshalling Error: &lt;ns2:login xmlns:ns2="http://x/">&lt;username>bob&lt;/username>&lt;password>[REDACTED]&lt;/password>&lt;/ns2:login></faultstring></soap:Fault>`,
			"Tr0ub4dor3x"},
		{"secret element with CDATA",
			`<detail>&lt;SessionToken>&lt;![CDATA[FwoG&lt;b>YXdz]]&gt;&lt;/SessionToken></detail>`,
			`<detail>&lt;SessionToken>[REDACTED]&lt;/SessionToken></detail>`,
			"YXdz"},
		{"name/value pair",
			`<detail>&lt;member>&lt;Key>DB_PASSWORD&lt;/Key>&lt;Value>hunter2secret&lt;/Value>&lt;/member></detail>`,
			`<detail>&lt;member>&lt;Key>DB_PASSWORD&lt;/Key>&lt;Value>[REDACTED]&lt;/Value>&lt;/member></detail>`,
			"hunter2secret"},
		// Not a secret's: kept.
		{"not secret",
			`<detail>&lt;user>bob&lt;/user>&lt;NextToken>page-3&lt;/NextToken></detail>`,
			`<detail>&lt;user>bob&lt;/user>&lt;NextToken>page-3&lt;/NextToken></detail>`, ""},
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
