package config

import (
	"strings"
	"testing"
)

// TestSecretFileRefNeverEchoesAPastedSecret: operators paste the secret
// itself where its file's path belongs (client_secret: {file: sk_live_…}).
// The file does not exist, and the error said so by printing the "path":
// the secret, on stderr, in CI logs and the worker's startup log. The error
// must still say what is wrong and where (file:line:col, the file does not
// exist, what to write), without the value, in the message or the snippet;
// a value that reads like a path is still shown.
func TestSecretFileRefNeverEchoesAPastedSecret(t *testing.T) {
	for _, secret := range []string{
		"sk_live_4eC39HqLyjWDarjtT1zdp7dc", // Stripe's documented test-key shape
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"00QCjAl4MlV-WPXM-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"4e3202fdbe953d628f650229af5b3eb49cd46b2d3bfe5546ae3c5fa48b554e0c",
		"xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
	} {
		src := `connections:
  crowdstrike:
    type: crowdstrike
    client_id: abc
    client_secret: {file: ` + secret + `}
`
		_, diags := ParseConnections("/etc/riposte/riposte.yaml", []byte(src), testOptions(nil))
		errs := diags.Errors()
		if len(errs) != 1 {
			t.Fatalf("%s: want one error, got:\n%s", secret, diags)
		}
		d := errs[0]
		if d.Line != 5 || d.Col != 27 || !strings.Contains(d.Message, "does not exist") || !strings.Contains(d.Message, "{file: /run/secrets/") {
			t.Errorf("%s: the error lost its meaning: %s", secret, d.Pretty())
		}
		for _, part := range strings.Split(secret, "/") {
			if strings.Contains(d.Pretty(), part) {
				t.Errorf("the diagnostic prints the pasted secret %q:\n%s", part, d.Pretty())
			}
		}
	}
	// A path is still shown, relative ones as resolved.
	for value, want := range map[string]string{
		"/run/secrets/crowdstrike_client_secret": "file /run/secrets/crowdstrike_client_secret does not exist",
		"cs_secret":                              "file /etc/riposte/cs_secret does not exist",
		"secrets/okta-api-token-2024":            "file /etc/riposte/secrets/okta-api-token-2024 does not exist",
	} {
		src := "connections:\n  crowdstrike:\n    type: crowdstrike\n    client_id: abc\n    client_secret: {file: " + value + "}\n"
		_, diags := ParseConnections("/etc/riposte/riposte.yaml", []byte(src), testOptions(nil))
		if !strings.Contains(diags.Error(), want) {
			t.Errorf("{file: %s}: want %q in:\n%s", value, want, diags)
		}
	}
}
