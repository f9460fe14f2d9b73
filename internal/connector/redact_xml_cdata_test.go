package connector

import (
	"strings"
	"testing"
)

// XML writes a text with markup characters (a password holding < or &) as
// a CDATA section, and PAN-OS, SOAP stacks and many XML writers use one for
// any text: <password><![CDATA[…]]></password>. The element pattern of
// 0dc0f4b wanted the text to hold no '<', so a CDATA-wrapped credential was
// quoted in clear, though README says XML elements of those names are
// redacted.
func TestRedactShapesSecretInXMLCDATA(t *testing.T) {
	for _, tt := range []struct{ in, gone, keep string }{
		{`<response status="error"><msg><line><![CDATA[ login failed ]]></line></msg><request><user>svc-riposte</user><password><![CDATA[Tr0ub4dor<&>3x]]></password></request></response>`,
			"Tr0ub4dor", "<user>svc-riposte</user>"},
		{`<Credentials><SessionToken><![CDATA[IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ]]></SessionToken></Credentials>`,
			"IQoJb3JpZ2lu", "<Credentials>"},
		{"<wsse:Password Type=\"PasswordText\">\n  <![CDATA[s3cr3t]] ]]>\n</wsse:Password><user>bob</user>", "s3cr3t", "<user>bob</user>"},
	} {
		for name, got := range map[string]string{"RedactShapes": RedactShapes(tt.in), "Snippet": Snippet([]byte(tt.in))} {
			if strings.Contains(got, tt.gone) {
				t.Errorf("%s(%s) = %s: still holds %q", name, tt.in, got, tt.gone)
			}
			if !strings.Contains(got, tt.keep) {
				t.Errorf("%s(%s) = %s: lost %q", name, tt.in, got, tt.keep)
			}
		}
	}
}
