package config

import (
	"strings"
	"testing"
)

// A YAML syntax error on a line that writes a secret field hides the
// line's value; a connection written as a flow mapping on one line puts
// the secret field after the connection's name, where the line's first key
// is not a secret field, and the whole line was printed, secret included.
func TestSyntaxErrorOnFlowLineHidesSecret(t *testing.T) {
	const secret = "S3cr3tValue42"
	for _, src := range []string{
		"connections:\n  jira: {type: jira, base_url: https://example.atlassian.net, email: soc@example.com, api_token: " + secret + ", project: [SEC}\n",
		"connections:\n  jira: {type: jira, api_token: \"" + secret + "\", project: @SEC}\n",
		"connections: {jira: {type: jira, api_token: " + secret + ", project: SEC}\n",
	} {
		_, diags := ParseConnections("riposte.yaml", []byte(src), testOptions(nil))
		if len(diags.Errors()) == 0 {
			t.Fatalf("no error for %q", src)
		}
		for _, d := range diags {
			if strings.Contains(d.Pretty(), secret) {
				t.Errorf("diagnostic echoes the secret:\n%s", d.Pretty())
			}
		}
	}
}
