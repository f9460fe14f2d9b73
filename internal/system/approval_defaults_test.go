package system

import (
	"strings"
	"testing"
	"time"
)

// TestApprovalDefaultsTimeout pins the README's "timeout: default 30m (or
// RIPOSTE_APPROVAL_TIMEOUT)" on the side of serve: the variable sets the
// site's default gate timeout that runs carry (Input.Approval.Timeout;
// workflows.TestGateTimeoutDefault checks a gate follows it); unset or
// blank it is zero, so the workflow's own default (30m) applies; a value
// that is not a duration refuses start, naming the variable.
func TestApprovalDefaultsTimeout(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want time.Duration
		err  string
	}{
		{"", 0, ""},
		{"   ", 0, ""},
		{"45m", 45 * time.Minute, ""},
		{" 2h ", 2 * time.Hour, ""},
		{"soon", 0, "RIPOSTE_APPROVAL_TIMEOUT"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv("RIPOSTE_APPROVAL_TIMEOUT", tc.env)
			d, err := approvalDefaults()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Timeout.D(); got != tc.want {
				t.Errorf("RIPOSTE_APPROVAL_TIMEOUT=%q: timeout %s, want %s", tc.env, got, tc.want)
			}
		})
	}
}

// The site's default approvers decide gates by Slack id: an email or a
// name in RIPOSTE_APPROVERS (a group handle in RIPOSTE_APPROVER_GROUPS)
// could never decide one, so the process refuses to start naming it.
func TestApprovalDefaultsAreSlackIDs(t *testing.T) {
	for _, tc := range []struct{ users, groups, err string }{
		{"U0SOCLEAD1, W0GRIDUSER", "S0SOC", ""},
		{"alice@example.com", "", `RIPOSTE_APPROVERS: "alice@example.com" is not a Slack user id`},
		{"", "soc-oncall", `RIPOSTE_APPROVER_GROUPS: "soc-oncall" is not a Slack user group id`},
	} {
		t.Setenv("RIPOSTE_APPROVERS", tc.users)
		t.Setenv("RIPOSTE_APPROVER_GROUPS", tc.groups)
		_, err := approvalDefaults()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q/%q: %v", tc.users, tc.groups, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q/%q: %v; want %s", tc.users, tc.groups, err, tc.err)
		}
	}
}

// README, Human approval: the site's default approvers, like policy.yaml's
// approvers:, that "are listed twice" are "refused at start naming it". A
// person listed twice counts once (votes are compared by identity, so
// U0SOCLEAD1 and u0soclead1 are one person), so a playbook's quorum: 2
// without approvers of its own would wait for a second approver who does
// not exist and follow on_timeout instead of the people named.
func TestApprovalDefaultsListedTwiceRefused(t *testing.T) {
	for _, tc := range []struct{ users, groups, err string }{
		{"U0SOCLEAD1,U0SOCLEAD1", "", `RIPOSTE_APPROVERS: "U0SOCLEAD1" is already listed`},
		{"U0SOCLEAD1, u0soclead1", "", `RIPOSTE_APPROVERS: "u0soclead1" is already listed`},
		{"U0SOCLEAD1", "S0SOC,s0soc", `RIPOSTE_APPROVER_GROUPS: "s0soc" is already listed`},
	} {
		t.Setenv("RIPOSTE_APPROVERS", tc.users)
		t.Setenv("RIPOSTE_APPROVER_GROUPS", tc.groups)
		_, err := approvalDefaults()
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q/%q: err = %v; want %s", tc.users, tc.groups, err, tc.err)
		}
	}
}
