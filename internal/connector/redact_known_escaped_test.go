package connector

import (
	"strings"
	"testing"
)

// Redact replaces every secret Riposte resolved, but only as written:
// a vendor quoting it in JSON escapes it ('/' as '\/' in PHP's
// json_encode, '&', '<', '>' as \u0026… in Go's encoding/json, '"' and
// '\' always) and one echoing the request URL or form body
// percent-encodes it (%2F, %2B, %3D): the secret was left in clear,
// though README promises every resolved secret is scrubbed.
func TestRedactKnownSecretEscaped(t *testing.T) {
	for _, c := range []struct{ secret, in, gone string }{
		{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", `{"message":"key wJalrXUtnFEMI\/K7MDENG\/bPxRfiCYEXAMPLEKEY was refused"}`, `K7MDENG\/bPxRfiCY`},
		{"Tr0ub&dor<3", `{"detail":"credential Tr0ub\u0026dor\u003c3 is not valid"}`, `Tr0ub\u0026dor`},
		{`pa"ss\word9`, `{"detail":"credential pa\"ss\\word9 is not valid"}`, `pa\"ss\\word9`},
		{"LUFRPT14MW5x+OEo1R09KVlBZ/npnemh0VHRBOWl6TGM9bXcwM3JHUGVhRlNiY0dCR0srNERUQT09", `request /api/?type=op&cmd=x&secret_in_path=LUFRPT14MW5x%2BOEo1R09KVlBZ%2Fnpnemh0VHRBOWl6TGM9bXcwM3JHUGVhRlNiY0dCR0srNERUQT09 failed`, "OEo1R09KVlBZ"},
	} {
		got := Redact(c.in, []string{c.secret})
		if strings.Contains(got, c.gone) {
			t.Errorf("Redact(%q) = %q: the secret is still there", c.in, got)
		}
	}
}
