package connector

import (
	"strings"
	"testing"
)

// The 64 KiB cut of Snippet backs off to a space; landing inside the text
// of an XML element named as a secret key (a passphrase with spaces) it
// leaves the element without the "</" its pattern needs, so the words
// before the cut were quoted in clear: the open-value check at the cut
// knew only quoted key/value shapes, not the XML elements of 0dc0f4b.
func TestSnippetCutInsideXMLSecretElementRedactsIt(t *testing.T) {
	head := `<r><IdToken>eyJhbGciOiJSUzI1NiJ9.`
	for name, mid := range map[string]string{
		"text":  `.c2lnbmF0dXJl</IdToken><request><user>svc-riposte</user><password>correct horse `,
		"CDATA": `.c2lnbmF0dXJl</IdToken><request><user>svc-riposte</user><ns:Password x="1"><![CDATA[correct horse `,
	} {
		n := snippetScan - len(head) - len(mid) - 3
		body := head + strings.Repeat("A", n) + mid + `battery staple]]></password></request></r>`
		if !strings.Contains(body[:snippetScan], "correct horse bat") {
			t.Fatalf("%s: test set-up: the cut is not inside the password", name)
		}
		got := Snippet([]byte(body))
		if strings.Contains(got, "correct") || strings.Contains(got, "horse") || !strings.Contains(got, "svc-riposte") || !strings.Contains(got, "[REDACTED]") {
			t.Errorf("%s: Snippet = %q: the password's words before the 64 KiB cut are quoted", name, got)
		}
	}
}
