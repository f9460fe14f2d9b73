package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/codec"
)

// A data dir whose Temporal database holds histories but whose codec key
// file is gone (deleted, not copied with the database, or the histories
// were written under RIPOSTE_CODEC_KEY_FILE) must not get a fresh key
// silently: every payload in the database was encrypted with the lost key,
// so every open run (a gate waiting, a contain_for hold that must release
// containment) would fail to decode forever, behind a start that looked
// normal. riposte dev refuses, naming both files, and creates nothing.
func TestDevKeyringRefusesNewKeyOverExistingHistories(t *testing.T) {
	t.Setenv(codec.EnvKeyFile, "")
	t.Setenv(codec.EnvKeys, "")

	dir := t.TempDir()
	if _, err := devKeyring(dir); err != nil {
		t.Fatalf("fresh data dir: %v", err)
	}
	// The database now holds payloads under that key; the key is lost.
	if err := os.WriteFile(filepath.Join(dir, "temporal.db"), []byte("SQLite format 3\x00 histories"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, codec.DevKeyFile)); err != nil {
		t.Fatal(err)
	}
	k, err := devKeyring(dir)
	if err == nil {
		t.Fatalf("data dir with temporal.db and no %s: got a new key %q and no error; the histories in temporal.db can no longer be read", codec.DevKeyFile, k.ActiveKeyID())
	}
	for _, want := range []string{codec.DevKeyFile, "temporal.db"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if _, statErr := os.Stat(filepath.Join(dir, codec.DevKeyFile)); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("a key file was created although the start was refused: %v", statErr)
	}
}
