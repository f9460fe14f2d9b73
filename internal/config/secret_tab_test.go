package config

import (
	"strings"
	"testing"
)

// A secret written over several lines whose later line is indented with a
// tab (a key pasted from a tab-indented editor, a PEM block): yaml.v3
// refuses the tab and places the error on that line, which holds only the
// secret. The later-line rule (d64f72e) counted only spaces as indentation,
// so the line was not taken for the secret's and its snippet printed that
// part of the secret in clear.
func TestSyntaxErrorOnATabIndentedLineOfASecretHidesIt(t *testing.T) {
	const head = "connections:\n  cs:\n    type: crowdstrike\n    base_url: https://api.crowdstrike.com\n    client_id: abc\n"
	for name, secret := range map[string]string{
		"block scalar, tab":             "    client_secret: |\n\tS3cr3tPart\n",
		"block scalar, second line":     "    client_secret: |\n      S3cr3tFirst\n\tS3cr3tPart\n",
		"folded, spaces then a tab":     "    client_secret: >-\n      S3cr3tFirst\n    \tS3cr3tPart\n",
		"plain over two lines":          "    client_secret: S3cr3tFirst\n\tS3cr3tPart\n",
		"value on the next line, a tab": "    client_secret:\n\tS3cr3tPart\n",
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
		if errs[0].Line != 6 {
			t.Errorf("%s: got %v, want the error on line 6 (the secret's value)", name, errs)
		}
	}
	// A tab-indented line after a secret reference ({env: …}) is not the
	// secret's: its error stays where it is.
	_, diags := ParseConnections("riposte.yaml", []byte(head+"    client_secret: {env: X}\n\tproject: x\n"), testOptions(map[string]string{"X": "y"}))
	if errs := diags.Errors(); len(errs) != 1 || errs[0].Line != 7 {
		t.Errorf("a tab after a reference: got %v, want the error on line 7", errs)
	}
}
