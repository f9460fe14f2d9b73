package connector

import (
	"strings"
	"testing"
)

// Vendors answering XML (PAN-OS's XML API, AWS's query APIs, SOAP services
// behind http.request) write a credential as an element, <password>…
// </password>, <SessionToken>…</SessionToken>: the key is followed by '>',
// not ':' or '=', so no pattern matched and an answer quoted in an error
// (a 4xx's body, an unreadable answer) kept it in clear. Here an STS
// answer's session token (not the 40-character shape of a secret key) and
// a debug echo of a login.
func TestRedactShapesSecretInXML(t *testing.T) {
	for _, tt := range []struct{ in, gone, keep string }{
		{`<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId><SessionToken>IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ</SessionToken></Credentials></AssumeRoleResult></AssumeRoleResponse>`,
			"IQoJb3JpZ2luX2VjEJr", "<AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>"},
		{`<response status="error"><msg><line>login failed</line></msg><request><user>svc-riposte</user><password>Tr0ub4dor 3x</password></request></response>`,
			"Tr0ub4dor", "<user>svc-riposte</user>"},
		{`<soap:Fault><detail><ns2:ClientSecret xmlns:ns2="urn:x">Qp8~abc.DEF_ghi-123</ns2:ClientSecret></detail></soap:Fault>`,
			"Qp8~abc", "<soap:Fault>"},
		{`<error><api_key type="string">0123456789abcdef0123</api_key></error>`, "0123456789abcdef0123", "<error>"},
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
