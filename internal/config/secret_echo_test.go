package config

import (
	"strings"
	"testing"
)

// TestConnectionErrorsNeverEchoSecrets: a diagnostic about riposte.yaml ends
// up on stderr, in CI logs and in the worker's startup log. It must not
// print a secret: neither an env var's value interpolated into a URL (a
// webhook's ?code= key, credentials in userinfo) nor a secret written in
// the file, which the diagnostic itself tells the operator to move out.
func TestConnectionErrorsNeverEchoSecrets(t *testing.T) {
	const secret = "S3cr3tValue42"
	env := map[string]string{
		"HOOK_URL":  "https://hooks.example.com/api/run?code=" + secret,
		"CRED_URL":  "ftp://svc:" + secret + "@files.example.com",
		"NOHOST":    "https://svc:" + secret + "@",
		"FRAG_URL":  "https://hooks.example.com/x#" + secret,
		"PORT_URL":  "https://hooks.example.com:" + secret + "/",
		"CS_ID":     "id",
		"CS_SECRET": secret,
	}
	src := `connections:
  hook:
    type: http
    base_url: ${HOOK_URL}
  cred:
    type: http
    base_url: ${CRED_URL}
  nohost:
    type: http
    base_url: ${NOHOST}
  frag:
    type: http
    base_url: ${FRAG_URL}
  port:
    type: http
    base_url: ${PORT_URL}
  jira:
    type: jira
    base_url: https://example.atlassian.net
    email: soc@example.com
    api_token: ` + secret + `
    api_tokn: ` + secret + `
    project: SEC
`
	_, diags := ParseConnections("riposte.yaml", []byte(src), testOptions(env))
	if len(diags.Errors()) < 7 {
		t.Fatalf("want an error per connection, got:\n%s", diags)
	}
	for _, d := range diags {
		if strings.Contains(d.Pretty(), secret) {
			t.Errorf("diagnostic echoes the secret:\n%s", d.Pretty())
		}
	}
}
