package config

import (
	"strings"
	"testing"
)

// A connection in flow style whose secret, quoted or plain, goes on over a
// second line (an editor wrapping a long line), with another key after it
// on that line: the parser hid a value from its first line only, so an
// error about the next key (here a misspelt one) printed that second line,
// the rest of the secret included.
func TestSnippetHidesTheLaterLinesOfASecret(t *testing.T) {
	for name, src := range map[string]string{
		"double-quoted": "connections:\n  cs: {type: crowdstrike, base_url: \"https://api.crowdstrike.com\", client_id: abc, client_secret: \"S3cr3tFirst\n    S3cr3tOther\", bogus: 1}\n",
		"single-quoted": "connections:\n  cs: {type: crowdstrike, base_url: \"https://api.crowdstrike.com\", client_id: abc, client_secret: 'S3cr3tFirst\n    S3cr3tOther', bogus: 1}\n",
		"plain":         "connections:\n  cs: {type: crowdstrike, base_url: \"https://api.crowdstrike.com\", client_id: abc, client_secret: S3cr3tFirst\n    S3cr3tOther, bogus: 1}\n",
		"misspelt key":  "connections:\n  cs: {type: crowdstrike, base_url: \"https://api.crowdstrike.com\", client_id: abc, client_secret: {env: X}, clent_secret: \"S3cr3tFirst\n    S3cr3tOther\", bogus: 1}\n",
	} {
		_, diags := ParseConnections("riposte.yaml", []byte(src), testOptions(map[string]string{"X": "y"}))
		found := false
		for _, d := range diags {
			if strings.Contains(d.Message, `"bogus"`) {
				found = true
				if d.Line != 3 {
					t.Errorf("%s: the unknown key reported at %d:%d, want line 3", name, d.Line, d.Col)
				}
			}
			if p := d.Pretty(); strings.Contains(p, "S3cr3t") {
				t.Errorf("%s: a diagnostic shows the secret:\n%s", name, p)
			}
		}
		if !found {
			t.Errorf("%s: no error for the unknown key bogus: %v", name, diags)
		}
	}
}
