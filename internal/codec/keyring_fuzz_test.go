package codec

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// FuzzParseKeyring: any key file is a keyring or an ErrInvalidKeyring
// saying what is wrong, never a panic, and the error never quotes a key.
func FuzzParseKeyring(f *testing.F) {
	k := base64.StdEncoding.EncodeToString(make([]byte, KeySize))
	for _, s := range []string{``, `{}`, `{"active":"a","keys":{"a":"` + k + `"}}`, `{"active":"b","keys":{"a":"` + k + `"}}`,
		`{"active":"a","keys":{"a":"` + k + `","b":"` + k + `"},"retired":{"b":"2026-01-01T00:00:00Z"}}`,
		`{"active":"a","keys":{"a":"` + k + `"},"retired":{"a":"2026-01-01T00:00:00Z"}}`, `{"active":"a","keys":{"a":"AAAA"}}`,
		`{"active":"a","keys":{"a":"` + k + `"}} {}`, `{"active":"a","keys":{"-a":"` + k + `"}}`, `{"active":1}`, `null`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		kr, err := ParseKeyring(data, "fuzz")
		if err != nil {
			if !errors.Is(err, ErrInvalidKeyring) {
				t.Fatalf("error %v does not wrap ErrInvalidKeyring", err)
			}
			// A valid-length key quoted in the error would leak it.
			for _, w := range strings.FieldsFunc(err.Error(), func(r rune) bool { return r == '"' || r == ' ' }) {
				if b, derr := base64.StdEncoding.DecodeString(w); derr == nil && len(b) == KeySize {
					t.Fatalf("error quotes a key: %v", err)
				}
			}
			return
		}
		if kr.active == "" || len(kr.keys) == 0 {
			t.Fatalf("keyring without an active key from %q", data)
		}
		if _, ok := kr.keys[kr.active]; !ok {
			t.Fatalf("active key %q not among the keys", kr.active)
		}
	})
}
