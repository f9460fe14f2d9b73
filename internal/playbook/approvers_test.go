package playbook_test

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// A gate's approvers are compared with the Slack user id of whoever
// decides (a Slack click, or a token bound to a Slack user id). An
// approver written as an email, a name or a handle can never be that
// id, and a person listed twice counts once: either way the gate can
// never be approved by the people the playbook names, and it silently
// follows on_timeout (denied, or approved with nobody having looked).
// riposte validate must say so, where it is written.
func TestApproversAreSlackIDsListedOnce(t *testing.T) {
	doc := func(approval string) []byte {
		return []byte(stepDoc("  - id: isolate\n    action: core.noop\n    approval:\n" + approval))
	}
	refused := []struct{ approval, want string }{
		{"      approvers: {users: [alice@example.com]}\n",
			`p.yaml:10:27: steps[0].approval.approvers.users[0]: "alice@example.com" is not a Slack user id (U… or W…)`},
		{"      approvers: {users: [U0SOCLEAD1, soc-lead]}\n",
			`p.yaml:10:39: steps[0].approval.approvers.users[1]: "soc-lead" is not a Slack user id (U… or W…)`},
		{"      approvers: {groups: ['@soc-oncall']}\n",
			`p.yaml:10:28: steps[0].approval.approvers.groups[0]: "@soc-oncall" is not a Slack user group id (S…)`},
		{"      on_timeout: escalate\n      escalate_to: {users: [oncall@example.com]}\n",
			`p.yaml:11:29: steps[0].approval.escalate_to.users[0]: "oncall@example.com" is not a Slack user id (U… or W…)`},
		// Four eyes that no two people can satisfy: quorum 2, one person.
		{"      approvers: {users: [U0SOCLEAD1, u0soclead1]}\n      quorum: 2\n",
			`p.yaml:10:39: steps[0].approval.approvers.users[1]: "u0soclead1" is already listed (users[0])`},
		{"      approvers: {users: [U0SOCLEAD1, U0SOCLEAD1, U0INFRA001]}\n      quorum: 3\n",
			`p.yaml:10:39: steps[0].approval.approvers.users[1]: "U0SOCLEAD1" is already listed (users[0])`},
	}
	for _, tc := range refused {
		_, diags := playbook.LoadBytes("p.yaml", doc(tc.approval), testCatalog(t))
		if !strings.Contains(diags.Error(), tc.want) {
			t.Errorf("approval:\n%s validated with %v; want %s", tc.approval, diags, tc.want)
		}
	}
	for _, ok := range []string{
		"      approvers: {users: [U012AB3CD, W0ENTERPRISE1], groups: [S0614TZR7]}\n      quorum: 2\n",
		"      on_timeout: escalate\n      escalate_to: {users: [U0CISO0001], groups: [S0SOC]}\n",
	} {
		if _, diags := playbook.LoadBytes("p.yaml", doc(ok), testCatalog(t)); diags.Err() != nil {
			t.Errorf("approval:\n%s refused: %v", ok, diags)
		}
	}
}
