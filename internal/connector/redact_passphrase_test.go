package connector

import (
	"strings"
	"testing"
)

// A passphrase of random words after "password: " is not prose (isProse)
// and was meant to stay hidden, but an unquoted value ends at a space:
// only its first word was redacted ("password: [REDACTED] horse battery
// staple"), which leaves three of four diceware words, some 13 bits of a
// 51-bit secret, in the error, its history and the worker's logs. The
// words that follow a word-only value on its line are the passphrase's.
func TestRedactShapesHidesAWholePassphrase(t *testing.T) {
	for _, tt := range []struct {
		in   string
		gone []string
		keep string
	}{
		{"login failed for bob\npassword: Correct horse battery staple\nretry later", []string{"horse", "battery", "staple"}, "retry later"},
		{"client_secret: Purple Monkey Dishwasher Lamp", []string{"Monkey", "Dishwasher", "Lamp"}, "client_secret"},
		{"password: correct horse battery staple, user bob", []string{"horse", "battery", "staple"}, ", user bob"},
		{"password: hunter secret token here; retry", []string{"hunter", "token here"}, "; retry"},
		// As before: prose is kept, a value with a digit ends at its space.
		{"password: Password requirements were not met.", nil, "Password requirements were not met."},
		{"password: hunter2 was rejected by policy", []string{"hunter2"}, "was rejected by policy"},
	} {
		got := RedactShapes(tt.in)
		for _, w := range tt.gone {
			if strings.Contains(got, w) {
				t.Errorf("RedactShapes(%q)\n = %q: still holds %q", tt.in, got, w)
			}
		}
		if !strings.Contains(got, tt.keep) {
			t.Errorf("RedactShapes(%q)\n = %q: lost %q", tt.in, got, tt.keep)
		}
		if again := RedactShapes(got); again != got {
			t.Errorf("RedactShapes is not idempotent on %q:\n %q\n %q", tt.in, got, again)
		}
	}
}
