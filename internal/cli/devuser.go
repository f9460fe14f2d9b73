package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/riposte-dev/riposte/internal/identity"
)

// devUser is the identity the shared API token decides as: RIPOSTE_USER,
// which must be a Slack user id when set. Four-eyes compares it with the
// user id of Slack clicks; an email or a name standing for the same person
// would make them two.
func devUser() (string, error) {
	u := strings.TrimSpace(os.Getenv("RIPOSTE_USER"))
	if u != "" && !identity.IsSlackUserID(u) {
		return "", fmt.Errorf("RIPOSTE_USER %q is not a Slack user id (U… or W…, as in the member's profile → Copy member ID): the shared token decides as it, and four-eyes compares it with Slack clicks' user ids", u)
	}
	return u, nil
}
