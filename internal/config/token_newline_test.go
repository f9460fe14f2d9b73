package config

import (
	"os"
	"path/filepath"
	"testing"
)

// A token file mounted from a Kubernetes Secret or written with echo ends
// with a newline (CRLF when edited on Windows). riposte serve takes the
// token without the whitespace around it, from --token-file as from
// RIPOSTE_API_TOKEN: with the newline kept, every client's Bearer token
// would differ from it and be refused 401.
func TestServeTokenTrimsASecretFilesNewline(t *testing.T) {
	const token = "rpt_0123456789abcdef0123456789abcdef"
	dir := t.TempDir()
	for i, content := range []string{token + "\n", token + "\r\n", "  " + token + "\n\n"} {
		p := filepath.Join(dir, "api-token-"+string(rune('a'+i)))
		if err := os.WriteFile(p, []byte(content), 0o400); err != nil {
			t.Fatal(err)
		}
		if got, err := ServeToken(p); err != nil || got != token {
			t.Errorf("--token-file holding %q: %q, %v; want the token without the whitespace", content, got, err)
		}
		t.Setenv(TokenEnv, content)
		if got, err := ServeToken(""); err != nil || got != token {
			t.Errorf("%s=%q: %q, %v; want the token without the whitespace", TokenEnv, content, got, err)
		}
	}
}
