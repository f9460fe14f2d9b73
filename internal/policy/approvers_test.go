package policy

import (
	"strings"
	"testing"
)

// The policy's approvers decide the gates it forces, compared with the
// Slack user id of whoever decides: an email or a name could never decide
// such a gate, and a person listed twice counts once. Each is an error at
// its position; Slack ids in any case pass.
func TestPolicyApproversAreSlackIDsListedOnce(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"approvers: [U0SOCLEAD1, W0GRIDUSER]\n", ""},
		{"approvers: [u0soclead1]\n", ""},
		{"approvers: [alice@example.com]\n", `policy.yaml:1:13: approvers[0]: "alice@example.com" is not a Slack user id`},
		{"approvers:\n  - U0SOCLEAD1\n  - '@soc-oncall'\n", `policy.yaml:3:5: approvers[1]: "@soc-oncall" is not a Slack user id`},
		{"approvers: [U0SOCLEAD1, u0soclead1]\n", `policy.yaml:1:25: approvers[1]: "u0soclead1" is already listed`},
	} {
		_, err := Parse("policy.yaml", []byte(tc.src))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.src, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v; want %s", tc.src, err, tc.want)
		}
	}
}
