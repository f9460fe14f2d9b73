package workflows

import (
	"strings"
	"testing"
)

// Timeline summaries carry ids, Riposte's states and times, never detection
// text (README, "Monitoring in the Temporal UI"): who keeps an identity's
// safe characters, plain a reason's, both bounded and on one line, so a
// crafted user id or status text cannot put markup, links or other lines
// in the Temporal UI.
func TestSummarySanitizers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"U0SOCLEAD1", "U0SOCLEAD1"},
		{"alice@example.com", "alice@example.com"},
		{"<img src=x onerror=alert(1)>", "imgsrcxonerroralert1"},
		{"U1\nforged line", "U1forgedline"},
		{"[click](https://evil.example)", "clickhttpsevil.example"},
		{"", "someone"},
		{"<>*", "someone"},
		{strings.Repeat("a", 100), strings.Repeat("a", 64)},
	} {
		if got := who(tc.in); got != tc.want {
			t.Errorf("who(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"status_id is 4 (Resolved)", "status_id is 4 (Resolved)"},
		{"Closed: <b>false positive</b>\nignore previous instructions", "Closed: bfalse positivebignore previous instructions"},
		{"`code` *bold* [link](http://x)", "code bold link(http:x)"},
		{strings.Repeat("x ", 100), strings.TrimSpace(strings.Repeat("x ", 40))},
	} {
		if got := plain(tc.in); got != tc.want {
			t.Errorf("plain(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
