package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
)

func b64(n int) string {
	return base64.StdEncoding.EncodeToString(make([]byte, n))
}

func writeKeyFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEnsureDevKeyring(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "riposte-data") // does not exist yet
	k, created, err := EnsureDevKeyring(dataDir)
	if err != nil {
		t.Fatalf("EnsureDevKeyring: %v", err)
	}
	if !created {
		t.Error("created = false on first start")
	}
	path := filepath.Join(dataDir, DevKeyFile)
	if k.Path() != path {
		t.Errorf("Path = %q, want %q", k.Path(), path)
	}
	if ok, _ := regexp.MatchString(`^dev-\d{8}-[0-9a-f]{8}$`, k.ActiveKeyID()); !ok {
		t.Errorf("dev key id %q does not look like dev-YYYYMMDD-xxxxxxxx", k.ActiveKeyID())
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if perm := st.Mode().Perm(); perm != 0o600 {
			t.Errorf("key file mode = %v, want 0600", perm)
		}
	}
	// The file is in the documented format.
	raw, _ := os.ReadFile(path)
	var f struct {
		Active string
		Keys   map[string]string
	}
	if err := json.Unmarshal(raw, &f); err != nil || f.Active != k.ActiveKeyID() || len(f.Keys) != 1 {
		t.Errorf("key file content %s (%v)", raw, err)
	}
	entries, _ := os.ReadDir(dataDir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only the key file (temp files left?)", len(entries))
	}

	enc, err := NewCodec(k).Encode([]*commonpb.Payload{{Data: []byte("detection")}})
	if err != nil {
		t.Fatal(err)
	}

	// Second start: same key, nothing rewritten.
	k2, created, err := EnsureDevKeyring(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Error("created = true on second start")
	}
	if k2.ActiveKeyID() != k.ActiveKeyID() {
		t.Errorf("reloaded key id %q, want %q", k2.ActiveKeyID(), k.ActiveKeyID())
	}
	dec, err := NewCodec(k2).Decode(enc)
	if err != nil || string(dec[0].Data) != "detection" {
		t.Errorf("reloaded keyring cannot decrypt: %v", err)
	}
	raw2, _ := os.ReadFile(path)
	if string(raw2) != string(raw) {
		t.Error("second start rewrote the key file")
	}
}

func TestEnsureDevKeyringConcurrent(t *testing.T) {
	dataDir := t.TempDir()
	const n = 8
	ids := make([]string, n)
	var created int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, c, err := EnsureDevKeyring(dataDir)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[i] = k.ActiveKeyID()
			if c {
				created++
			}
		})
	}
	wg.Wait()
	if created != 1 {
		t.Errorf("%d callers created the file, want 1", created)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("callers got different keys: %v", ids)
		}
	}
}

func TestEnsureDevKeyringKeepsBrokenFile(t *testing.T) {
	dataDir := t.TempDir()
	path := filepath.Join(dataDir, DevKeyFile)
	if err := os.WriteFile(path, []byte(`{"active":"k1","keys":{"k1":"short"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := EnsureDevKeyring(dataDir)
	if !errors.Is(err, ErrInvalidKeyring) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error = %v, want ErrInvalidKeyring naming %s", err, path)
	}
	if raw, _ := os.ReadFile(path); string(raw) != `{"active":"k1","keys":{"k1":"short"}}` {
		t.Error("broken key file was overwritten")
	}
}

func TestLoadKeyring(t *testing.T) {
	path := writeKeyFile(t, `{
  "active": "k2",
  "keys": {"k1": "`+b64(32)+`", "k2": "`+base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))+`"}
}`)
	k, err := LoadKeyring(path)
	if err != nil {
		t.Fatalf("LoadKeyring: %v", err)
	}
	if k.ActiveKeyID() != "k2" || strings.Join(k.KeyIDs(), ",") != "k1,k2" || k.Path() != path {
		t.Errorf("got active %q ids %v path %q", k.ActiveKeyID(), k.KeyIDs(), k.Path())
	}
}

func TestLoadKeyringErrors(t *testing.T) {
	good := b64(32)
	tests := []struct {
		name    string
		content string
		want    string // substring of the error
	}{
		{"wrong length", `{"active":"k1","keys":{"k1":"` + b64(16) + `"}}`, `key "k1" is 16 bytes after base64 decoding, want 32`},
		{"too long", `{"active":"k1","keys":{"k1":"` + b64(33) + `"}}`, `key "k1" is 33 bytes`},
		{"bad base64", `{"active":"k1","keys":{"k1":"not*base64!"}}`, `key "k1" is not valid standard (padded) base64`},
		{"unpadded base64", `{"active":"k1","keys":{"k1":"` + strings.TrimRight(good, "=") + `"}}`, `key "k1" is not valid standard (padded) base64`},
		{"missing active", `{"keys":{"k1":"` + good + `"}}`, `"active" is missing`},
		{"active not in keys", `{"active":"k3","keys":{"k1":"` + good + `","k2":"` + good + `"}}`, `active key "k3" is not in "keys" (have k1, k2)`},
		{"no keys", `{"active":"k1"}`, `"keys" is missing or empty`},
		{"empty keys", `{"active":"k1","keys":{}}`, `"keys" is missing or empty`},
		{"bad key id", `{"active":"a b","keys":{"a b":"` + good + `"}}`, `key id "a b" is invalid`},
		{"key id with slash", `{"active":"../x","keys":{"../x":"` + good + `"}}`, `key id "../x" is invalid`},
		{"key id too long", `{"active":"k","keys":{"k":"` + good + `","` + strings.Repeat("a", 65) + `":"` + good + `"}}`, "longer than 64"},
		{"invalid JSON", `{"active":"k1","keys":`, "not valid JSON"},
		{"unknown field", `{"active":"k1","keys":{"k1":"` + good + `"},"activ":"k1"}`, `unknown field "activ"`},
		{"empty file", ``, "empty"},
		{"trailing data", `{"active":"k1","keys":{"k1":"` + good + `"}} {}`, "unexpected data after the JSON object"},
		{"key not a string", `{"active":"k1","keys":{"k1":32}}`, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeKeyFile(t, tt.content)
			_, err := LoadKeyring(path)
			if err == nil {
				t.Fatal("LoadKeyring succeeded")
			}
			if !errors.Is(err, ErrInvalidKeyring) {
				t.Errorf("error %v does not wrap ErrInvalidKeyring", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.want)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.json")
		_, err := LoadKeyring(path)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("empty path", func(t *testing.T) {
		if _, err := LoadKeyring(""); err == nil {
			t.Error("no error")
		}
	})
}

func TestKeyringFromEnv(t *testing.T) {
	good := `{"active":"env1","keys":{"env1":"` + b64(32) + `"}}`
	file := writeKeyFile(t, good)
	tests := []struct {
		name       string
		file, keys string
		wantActive string
		wantErr    error
		wantMsg    string
	}{
		{name: "neither", wantErr: ErrNoKeyring, wantMsg: "RIPOSTE_CODEC_KEY_FILE or RIPOSTE_CODEC_KEYS"},
		{name: "file", file: file, wantActive: "env1"},
		{name: "inline", keys: good, wantActive: "env1"},
		{name: "both", file: file, keys: good, wantMsg: "both RIPOSTE_CODEC_KEY_FILE and RIPOSTE_CODEC_KEYS"},
		{name: "inline invalid", keys: `{"active":"x","keys":{"x":"` + b64(8) + `"}}`, wantErr: ErrInvalidKeyring, wantMsg: `$RIPOSTE_CODEC_KEYS: invalid codec key file: key "x" is 8 bytes`},
		{name: "file missing", file: filepath.Join(t.TempDir(), "gone.json"), wantErr: fs.ErrNotExist, wantMsg: "from RIPOSTE_CODEC_KEY_FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvKeyFile, tt.file)
			t.Setenv(EnvKeys, tt.keys)
			k, err := KeyringFromEnv()
			if tt.wantActive != "" {
				if err != nil {
					t.Fatal(err)
				}
				if k.ActiveKeyID() != tt.wantActive {
					t.Errorf("active = %q", k.ActiveKeyID())
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}

	t.Run("inline cannot rotate", func(t *testing.T) {
		t.Setenv(EnvKeyFile, "")
		t.Setenv(EnvKeys, good)
		k, err := KeyringFromEnv()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Rotate(); err == nil {
			t.Error("Rotate of an inline keyring succeeded")
		}
	})
}

func TestRotateKeepsKeysAddedByOthers(t *testing.T) {
	dir := t.TempDir()
	a, _, err := EnsureDevKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadKeyring(a.Path()) // a second process
	if err != nil {
		t.Fatal(err)
	}
	idA, err := a.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	idB, err := b.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	final, err := LoadKeyring(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	ids := final.KeyIDs()
	if len(ids) != 3 || final.ActiveKeyID() != idB {
		t.Fatalf("after two rotations: ids %v active %q (rotated %q then %q)", ids, final.ActiveKeyID(), idA, idB)
	}
	if st, err := os.Stat(a.Path()); err == nil && runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("rotated key file mode = %v", st.Mode().Perm())
	}
}

func TestRotateRefusesConflictingFile(t *testing.T) {
	path := writeKeyFile(t, `{"active":"k1","keys":{"k1":"`+b64(32)+`"}}`)
	k, err := LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	other := base64.StdEncoding.EncodeToString([]byte("ffffffffffffffffffffffffffffffff"))
	if err := os.WriteFile(path, []byte(`{"active":"k1","keys":{"k1":"`+other+`"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Rotate(); err == nil || !strings.Contains(err.Error(), "different key") {
		t.Fatalf("Rotate error = %v", err)
	}
	if raw, _ := os.ReadFile(path); !strings.Contains(string(raw), other) {
		t.Error("file was overwritten")
	}
}

func TestNewKeyringValidation(t *testing.T) {
	key := make([]byte, KeySize)
	tests := []struct {
		name   string
		active string
		keys   map[string][]byte
		want   string
	}{
		{"no keys", "k1", nil, "no keys"},
		{"active missing", "k2", map[string][]byte{"k1": key}, `active key "k2" is not among the keys`},
		{"short key", "k1", map[string][]byte{"k1": key[:31]}, `key "k1" is 31 bytes, want 32`},
		{"bad id", "k 1", map[string][]byte{"k 1": key}, `key id "k 1" is invalid`},
		{"leading dash", "-k", map[string][]byte{"-k": key}, `key id "-k" is invalid`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewKeyring(tt.active, tt.keys)
			if !errors.Is(err, ErrInvalidKeyring) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
	// The caller's slice is copied.
	raw := make([]byte, KeySize)
	k, err := NewKeyring("a.b_c-1", map[string][]byte{"a.b_c-1": raw})
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := NewCodec(k).Encode([]*commonpb.Payload{{Data: []byte("x")}})
	raw[0] = 1
	if _, err := NewCodec(k).Decode(enc); err != nil {
		t.Errorf("keyring shares the caller's key slice: %v", err)
	}
}

// Rotate keeps the key file's "retired" times (and those another process
// wrote meanwhile), so a rotation never re-authorizes a retired key.
func TestRotateKeepsRetired(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	k1 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize))
	k2 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, KeySize))
	if err := os.WriteFile(path, []byte(`{"active":"k2","keys":{"k1":"`+k1+`","k2":"`+k2+`"},"retired":{"k1":"2026-12-06T10:00:00Z"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	again, err := LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if at, ok := again.Retired()["k1"]; !ok || !at.Equal(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("after Rotate the file's retired is %v, want k1 at 2026-12-06T10:00:00Z", again.Retired())
	}
}
