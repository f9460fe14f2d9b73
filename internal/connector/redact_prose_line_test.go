package connector

import (
	"strings"
	"testing"
)

// The sentence that makes "key: " prose (Okta's errorCauses, "password:
// Password requirements were not met.") is on the key's line. isProse read
// its four words across line breaks, so a word-only password on its own
// line, followed by a message on the next (a request echoed as YAML or
// headers, then the error), was taken for the start of a sentence and
// shown: "password: Sunflower" + "\nThe password is not valid".
func TestRedactShapesProseStaysOnItsLine(t *testing.T) {
	for _, in := range []string{
		"username: bob\npassword: Sunflower\nThe request was not valid",
		"client_secret: Sunflower\r\nThis is not the secret of the client",
	} {
		if got := RedactShapes(in); strings.Contains(got, "Sunflower") {
			t.Errorf("RedactShapes(%q)\n = %q: still holds the password", in, got)
		}
	}
	// Okta's one-line causes are still prose.
	in := "errorCauses:\npassword: Password requirements were not met.\nlogin: Login must be unique"
	if got := RedactShapes(in); !strings.Contains(got, "password: Password requirements were not met.") {
		t.Errorf("RedactShapes(%q) = %q: lost the cause", in, got)
	}
}
