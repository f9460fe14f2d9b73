package okta_test

import (
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// "me" in /api/v1/users/me is the API token's own user (Okta Users API,
// "Get current user"): suspending or ending the sessions of "me" would act
// on Riposte's service account. It is refused before any call.
func TestUserMeRefused(t *testing.T) {
	for _, action := range []string{"okta.suspend_user", "okta.clear_user_sessions", "okta.unsuspend_user"} {
		for _, user := range []string{"me", "ME"} {
			h := connectortest.New(t)
			_, err := h.Run(action, map[string]any{"user": user}, "k1")
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != "InvalidParams" || !ae.NonRetryable() {
				t.Errorf("%s user=%s: err = %v, want a non-retryable InvalidParams", action, user, err)
			}
			if n := len(h.Lab.Requests(lab.Okta)); n != 0 {
				t.Errorf("%s user=%s: %d request(s) sent to Okta", action, user, n)
			}
		}
	}
}
