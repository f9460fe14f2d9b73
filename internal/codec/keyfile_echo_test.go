package codec

import (
	"strings"
	"testing"
)

// TestKeyFileErrorsNeverPrintAKey: a key file (or RIPOSTE_CODEC_KEYS,
// RIPOSTE_DECISION_KEYS) written with the key where an id belongs, the
// id and the key swapped ({"keys": {"<key>": "k1"}}) or the key given as
// "active", was refused with an error quoting the "id": the key that
// decrypts every history (or seals every decision), on stderr and in the
// service's logs at every start. The error must say what is wrong without
// the key.
func TestKeyFileErrorsNeverPrintAKey(t *testing.T) {
	const key = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJ+/A="
	const key2 = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE="
	for name, src := range map[string]string{
		"swapped":         `{"active":"k1","keys":{"` + key + `":"k1"}}`,
		"key as active":   `{"active":"` + key + `","keys":{"k1":"` + key + `"}}`,
		"other as active": `{"active":"` + key2 + `","keys":{"k1":"` + key + `"}}`,
		"key as retired":  `{"active":"k1","keys":{"k1":"` + key + `"},"retired":{"` + key2 + `":"2026-12-06T10:00:00Z"}}`,
	} {
		_, err := ParseKeyring([]byte(src), "$RIPOSTE_CODEC_KEYS")
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, k := range []string{"q83vEjRWeJ", "Zm9vYmFyYmF6"} {
			if strings.Contains(err.Error(), k) {
				t.Errorf("%s: the error prints a key: %v", name, err)
			}
		}
	}
	// An id is still named.
	if _, err := ParseKeyring([]byte(`{"active":"k2","keys":{"k1":"`+key+`"}}`), "x"); err == nil || !strings.Contains(err.Error(), `"k2"`) {
		t.Errorf("a misspelt id is no longer named: %v", err)
	}
}
