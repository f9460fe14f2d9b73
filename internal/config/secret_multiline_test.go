package config

import (
	"strings"
	"testing"
)

// A secret written over two lines (a double-quoted string folded by an
// editor or a long key pasted in pieces) with a YAML syntax error on its
// second line: yaml.v3 names the line the quoted string starts on (the
// key's, whose value is hidden), and the error is now placed at its
// character on the next line, which names no secret field, so the snippet
// printed that line of the secret and the caret where in it the bad
// character is.
func TestSyntaxErrorOnASecretsSecondLineHidesIt(t *testing.T) {
	const head = "connections:\n  cs:\n    type: crowdstrike\n    base_url: https://api.crowdstrike.com\n    client_id: abc\n"
	for name, secret := range map[string]string{
		"an unknown escape":        "    client_secret: \"S3cr3tFirstHalf\n      S3cr3tOther\\q42\"\n",
		"a byte that is not UTF-8": "    client_secret: \"S3cr3tFirstHalf\n      S3cr3tOther\xe942\"\n",
		"in a block scalar":        "    client_secret: |\n      S3cr3tFirstHalf\n\n      S3cr3tOther\x0142\n",
	} {
		_, diags := ParseConnections("riposte.yaml", []byte(head+secret), testOptions(nil))
		errs := diags.Errors()
		if len(errs) == 0 {
			t.Errorf("%s: no error", name)
			continue
		}
		for _, e := range errs {
			if p := e.Pretty(); strings.Contains(p, "S3cr3t") {
				t.Errorf("%s: the error shows the secret:\n%s", name, p)
			}
		}
		if errs[0].Line != 6 || errs[0].Col != 20 {
			t.Errorf("%s: got %v, want the error at 6:20 (the secret's value)", name, errs)
		}
	}
	// An error after a secret that is closed stays at its character.
	_, diags := ParseConnections("riposte.yaml", []byte(head+"    client_secret: \"S3cr3t\"\n    base_path: \"x\\qy\"\n"), testOptions(nil))
	if errs := diags.Errors(); len(errs) != 1 || errs[0].Line != 7 || errs[0].Col != 18 {
		t.Errorf("an error after a closed secret: got %v, want it at 7:18", errs)
	}
}
