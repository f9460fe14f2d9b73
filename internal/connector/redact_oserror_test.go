package connector

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A secret file that cannot be read is named by its path, and secrets
// are conventionally mounted as files named after them
// (/run/secrets/okta_api_token): Go's error 'reading file
// /run/secrets/okta_api_token: is a directory' read as 'api_token:
// <value>' and became 'api_token: [REDACTED]' in the action's error,
// riposte doctor and the logs, hiding why the secret is unavailable
// (the operator's one lead). An OS error text after a name is kept;
// a secret after the same name is still hidden.
func TestRedactShapesKeepsTheOSErrorAfterASecretsFileName(t *testing.T) {
	// Not t.TempDir: its test-name-and-digits folder reads like a
	// secret (safefile.LooksLikeSecret) and would be hidden whole.
	base, err := os.MkdirTemp("", "riposte-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	dir := filepath.Join(base, "okta_api_token")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c := &Conn{Name: "okta", Cfg: Connection{Type: "okta", Secrets: map[string]SecretRef{"api_token": {File: dir}}}}
	_, err = c.Secret("api_token")
	if err == nil {
		t.Fatal("Secret: no error reading a directory")
	}
	msg := ToActivityError(err, c.knownSecrets()).Error()
	if !strings.Contains(msg, "is a directory") {
		t.Errorf("the reason is hidden: %s", msg)
	}
	for _, c := range []struct{ in, want string }{
		{`open /run/secrets/okta_api_token: permission denied`, `open /run/secrets/okta_api_token: permission denied`},
		{`open /run/secrets/crowdstrike_client_secret: no such file or directory`, `open /run/secrets/crowdstrike_client_secret: no such file or directory`},
		{`read /etc/riposte/password: is a directory; check the mount`, `read /etc/riposte/password: is a directory; check the mount`},
		// Still secrets.
		{`api_token: permissiondenied`, `api_token: [REDACTED]`},
		{`password: permission denied now`, `password: [REDACTED]`},
		{`password=permission denied`, `password=[REDACTED] denied`},
	} {
		if got := RedactShapes(c.in); got != c.want {
			t.Errorf("RedactShapes(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}
