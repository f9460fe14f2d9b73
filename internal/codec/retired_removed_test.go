package codec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// docs/operations.md (Codec key rotation) has the old key k1 marked
// "retired" (step 3) and then says "Remove an old key only once no history
// encrypted with it is still retained". Done as written, the file keeps
// "retired": {"k1": …} without k1 in "keys", and every worker and serve
// then refused it at start ("retired key "k1" is not in "keys"") without
// saying that the entry must go with the key: a roll done by the book
// stopped at its first process. The refusal stays (a misspelt id must not
// retire nothing silently), but it names the fix, and the docs say to
// remove the entry with the key.
func TestRetiredEntryOfRemovedKeyNamesTheFix(t *testing.T) {
	k2 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, KeySize))
	file := `{"active": "k2", "keys": {"k2": "` + k2 + `"}, "retired": {"k1": "2026-12-06T10:00:00Z"}}`
	_, err := ParseKeyring([]byte(file), "key file")
	if !errors.Is(err, ErrInvalidKeyring) {
		t.Fatalf("err = %v, want ErrInvalidKeyring", err)
	}
	if !strings.Contains(err.Error(), `remove "k1" from "retired"`) {
		t.Errorf("refused without naming the fix (remove \"k1\" from \"retired\" with the key): %v", err)
	}
}
