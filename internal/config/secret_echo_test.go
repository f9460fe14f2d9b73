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

// TestConnectionErrorsNeverEchoSecretsOnTheirLine: a secret written in
// riposte.yaml was masked only in the snippet of the one diagnostic about
// it. Another diagnostic showing the same source line printed it in clear:
// in a flow mapping, "needs client_secret" (pointing at the connection's
// name) showed the whole line with a misspelt clent_secret's value; and a
// secret field given twice, the second time as a literal value, was
// reported as a duplicate key whose snippet showed that value; a YAML
// syntax error on a secret's line (a value starting with @, an unclosed
// quote) showed the line. Every snippet must hide every value the parser
// hides, and the value of every secret field.
func TestConnectionErrorsNeverEchoSecretsOnTheirLine(t *testing.T) {
	const secret = "S3cr3tValue42"
	env := map[string]string{"CS_SECRET": "x"}
	for name, src := range map[string]string{
		"misspelt secret in a flow mapping": `connections:
  cs: {type: crowdstrike, base_url: "https://api.crowdstrike.com", client_id: abc, clent_secret: ` + secret + `}
`,
		"literal secret in a flow mapping, other errors on the line": `connections:
  cs: {type: crowdstrike, base_url: "ftp://x", client_id: abc, client_secret: ` + secret + `}
`,
		"YAML syntax error on a secret's line": `connections:
  cs:
    type: crowdstrike
    base_url: https://api.crowdstrike.com
    client_id: abc
    client_secret: @` + secret + `:x
`,
		"unterminated quoted secret": `connections:
  cs:
    type: crowdstrike
    base_url: https://api.crowdstrike.com
    client_id: abc
    client_secret: "` + secret + `
`,
		"secret field given twice": `connections:
  cs:
    type: crowdstrike
    base_url: https://api.crowdstrike.com
    client_id: abc
    client_secret: {env: CS_SECRET}
    client_secret: ` + secret + `
`,
	} {
		t.Run(name, func(t *testing.T) {
			_, diags := ParseConnections("riposte.yaml", []byte(src), testOptions(env))
			if len(diags.Errors()) == 0 {
				t.Fatalf("want an error, got none")
			}
			for _, d := range diags {
				if strings.Contains(d.Pretty(), secret) {
					t.Errorf("diagnostic echoes the secret:\n%s", d.Pretty())
				}
			}
		})
	}
}
