package config

import (
	"strings"
	"testing"
)

// A YAML syntax error is reported at its character (an unknown escape, a
// byte that is not UTF-8): on a line that writes a secret, that column
// would say where in the secret the character is. The diagnostic points
// at the start of the value instead, as its snippet hides it.
func TestSyntaxErrorInASecretPointsAtTheValue(t *testing.T) {
	const head = "connections:\n  cs:\n    type: crowdstrike\n    base_url: https://api.crowdstrike.com\n    client_id: abc\n"
	for name, line := range map[string]string{
		"an unknown escape":        `    client_secret: "S3cr3tValue\q42"`,
		"a byte that is not UTF-8": "    client_secret: S3cr3tValue\xe942",
	} {
		_, diags := ParseConnections("riposte.yaml", []byte(head+line+"\n"), testOptions(nil))
		errs := diags.Errors()
		if len(errs) != 1 || errs[0].Line != 6 || errs[0].Col != 20 || strings.Contains(errs[0].Pretty(), "S3cr3t") {
			t.Errorf("%s: got %v, want one error at 6:20 (the value) that does not show it", name, errs)
		}
	}
}
