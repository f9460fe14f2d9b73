package cli

import (
	"strings"
	"testing"
)

// TestServeRefusesCredentialsInUIURL: the public Temporal UI URL given as
// serve's --ui-url flag is checked like RIPOSTE_PUBLIC_UI_URL: every run URL
// the API returns and every approval message links to it, so a
// user:password@ in it would reach every API client and the channel. The
// refusal never quotes the password.
func TestServeRefusesCredentialsInUIURL(t *testing.T) {
	t.Setenv("RIPOSTE_PUBLIC_UI_URL", "")
	for name, tc := range map[string]struct{ url, want string }{
		"userinfo":     {"https://soc:Pa55w0rdZ@temporal-ui.example.com", "must not carry credentials"},
		"not absolute": {"temporal-ui.example.com/ui", "not an absolute http(s) URL"},
	} {
		code, _, stderr := runCLI(t, "serve", "--http", "127.0.0.1:0", "--ui-url", tc.url)
		if code != 2 || !strings.Contains(stderr, "--ui-url") || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: serve --ui-url %s: exit %d, want 2 saying %q; stderr:\n%s", name, tc.url, code, tc.want, stderr)
		}
		if strings.Contains(stderr, "Pa55w0rdZ") {
			t.Errorf("%s: the refusal quotes the password: %s", name, stderr)
		}
	}
}
