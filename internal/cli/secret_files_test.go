package cli

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/config"
)

// TestWorldReadableSecretFilesRefused: the codec key file is every
// history's encryption key and, unless RIPOSTE_DECISION_KEY_FILE is set,
// the key that seals human decisions; the API token file is the shared
// token. deploy/README.md ("Secret files") makes them 0400, but worker and
// serve read them whatever their mode, silently: a codec-keys.json left
// 0644 (a copy, an unpacked backup, a secret mounted with the default
// mode) let every user of the machine decrypt the histories and forge a
// sealed approval. Such a file is refused with a message naming the fix;
// group-readable (Kubernetes' 0440 Secret volumes) is still read.
func TestWorldReadableSecretFilesRefused(t *testing.T) {
	dir := t.TempDir()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keyJSON := fmt.Sprintf(`{"active":"k1","keys":{"k1":%q}}`, base64.StdEncoding.EncodeToString(key))
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("RIPOSTE_CODEC_KEYS", "")
	t.Setenv("RIPOSTE_DECISION_KEYS", "")
	t.Setenv("RIPOSTE_DECISION_KEY_FILE", "")
	t.Setenv(config.TokenEnv, "")
	for _, mode := range []os.FileMode{0o400, 0o440, 0o644, 0o604} {
		refuse := mode&0o004 != 0
		name := fmt.Sprintf("mode %04o", mode)

		t.Setenv("RIPOSTE_CODEC_KEY_FILE", write("codec-keys.json", keyJSON, mode))
		_, err := (&encryptionFlags{}).keys()
		check(t, name+": RIPOSTE_CODEC_KEY_FILE", refuse, err)

		t.Setenv("RIPOSTE_CODEC_KEY_FILE", "")
		t.Setenv("RIPOSTE_DECISION_KEY_FILE", write("decision-keys.json", keyJSON, mode))
		_, err = decisionKeys()
		check(t, name+": RIPOSTE_DECISION_KEY_FILE", refuse, err)
		t.Setenv("RIPOSTE_DECISION_KEY_FILE", "")

		_, err = config.ServeToken(write("api-token", "rpt_0123456789abcdef0123456789abcdef", mode))
		check(t, name+": --token-file", refuse, err)
	}
}

func check(t *testing.T, what string, refuse bool, err error) {
	t.Helper()
	switch {
	case refuse && err == nil:
		t.Errorf("%s: read although every user of the machine may read it; want it refused", what)
	case refuse && !strings.Contains(err.Error(), "readable by every user") && !strings.Contains(err.Error(), "chmod 0400"):
		t.Errorf("%s: refused without saying why: %v", what, err)
	case !refuse && err != nil:
		t.Errorf("%s: %v", what, err)
	}
}
