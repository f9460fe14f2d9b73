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
