package connector

import (
	"strings"
	"testing"
)

// A Slack token is a credential by its prefix (https://api.slack.com/
// authentication/token-types: xoxb- bot, xoxp- user, xoxa-/xoxr- legacy
// workspace and refresh, xoxe- refresh and configuration, xoxe.xoxp-
// rotating, xapp- app-level, xoxs-/xoxc-/xoxd- session and cookie), and
// Slack writes it under a bare "token" (auth.test, oauth.v2.exchange's
// form body), which is no secret key name: a pagination "next_token" is
// not a secret. It was quoted in clear in errors, history and logs.
func TestRedactShapesSlackTokens(t *testing.T) {
	for _, tt := range []struct{ in, gone, keep string }{
		{`{"ok":false,"error":"invalid_auth","token":"xoxb-123-456-abc"}`, "xoxb-123", `"error":"invalid_auth","token":"[REDACTED]"`},
		{`token=xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy&channel=C0123`, "pdFZKVeTuE8sk7oOcBrzbqgy", "token=[REDACTED]&channel=C0123"},
		{`token=xoxp-12345-67890-1928471-abcdefg`, "1928471-abcdefg", "token=[REDACTED]"},
		{`socket mode: xapp-1-A0123456789-1234567890123-0a1b2c3d4e5f6a7b8c9d was revoked`, "0a1b2c3d4e5f", "socket mode: [REDACTED] was revoked"},
		{`refresh with xoxe-1-abcdefg1234 failed`, "abcdefg1234", "refresh with [REDACTED] failed"},
		{`rotated: xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAx, expires soon`, "Mi0yLTEyMzQ1Njc4OTAx", "rotated: [REDACTED], expires soon"},
		{`{"token": "xoxa-2-1234-abcd"}`, "1234-abcd", `{"token": "[REDACTED]"}`},
		{`legacy xoxs-4567-8910-abcdef kept in a log`, "xoxs-4567", "legacy [REDACTED] kept in a log"},
		{`web client xoxc-1234-5678-9abcdef and cookie xoxd-Rm9vQmFy%2FYmF6MTIz%3D sent`, "Rm9vQmFy", "web client [REDACTED] and cookie [REDACTED] sent"},
		// Words about tokens are not tokens.
		{`use an xoxb- token or an xapp-level token`, "", `use an xoxb- token or an xapp-level token`},
		{`{"ok":false,"error":"not_authed","next_token":"dXNlcjpVMEc5V0ZYTlo="}`, "", `"error":"not_authed"`},
	} {
		got := RedactShapes(tt.in)
		if tt.gone != "" && strings.Contains(got, tt.gone) {
			t.Errorf("RedactShapes(%q) = %q: still holds %q", tt.in, got, tt.gone)
		}
		if !strings.Contains(got, tt.keep) {
			t.Errorf("RedactShapes(%q) = %q: lost %q", tt.in, got, tt.keep)
		}
		if again := RedactShapes(got); again != got {
			t.Errorf("RedactShapes not idempotent: %q -> %q", got, again)
		}
	}
}
