package codec

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riposte-dev/riposte/internal/safefile"
)

// Environment variables read by KeyringFromEnv.
const (
	// EnvKeyFile names a key file (see the package documentation).
	EnvKeyFile = "RIPOSTE_CODEC_KEY_FILE"
	// EnvKeys holds the key file's JSON inline.
	EnvKeys = "RIPOSTE_CODEC_KEYS"
)

// DevKeyFile is the name of the key file EnsureDevKeyring keeps in the data
// directory.
const DevKeyFile = "codec-keys.json"

// KeySize is the size in bytes of every key: AES-256.
const KeySize = 32

const maxKeyIDLen = 64

var (
	// ErrNoKeyring is returned (wrapped) by KeyringFromEnv when neither
	// RIPOSTE_CODEC_KEY_FILE nor RIPOSTE_CODEC_KEYS is set.
	ErrNoKeyring = errors.New("no codec keys configured")
	// ErrInvalidKeyring is wrapped by every error about the content of a key
	// file or of RIPOSTE_CODEC_KEYS (bad JSON, bad base64, wrong key length,
	// missing or unknown active key, bad key id).
	ErrInvalidKeyring = errors.New("invalid codec key file")
)

// keyFile is the JSON form of a keyring.
type keyFile struct {
	Active string            `json:"active"`
	Keys   map[string]string `json:"keys"`
	// Retired gives old keys a retirement time (RFC 3339): they still
	// decrypt, but a decision seal of theirs made after it is refused.
	Retired map[string]string `json:"retired,omitempty"`
}

type key struct {
	raw  []byte
	aead cipher.AEAD
}

// Keyring holds the AES-256 keys of a Codec: one active key, used to
// encrypt, and any number of older keys, used only to decrypt. It is safe for
// concurrent use.
type Keyring struct {
	mu     sync.RWMutex
	path   string // backing file; "" when the keys came from RIPOSTE_CODEC_KEYS or NewKeyring
	active string
	keys   map[string]key
	// retired: the key file's "retired" times (old keys only).
	retired map[string]time.Time
}

// NewKeyring builds an in-memory keyring (no backing file, so Rotate fails)
// from raw 32-byte keys. The map is copied.
func NewKeyring(active string, keys map[string][]byte) (*Keyring, error) {
	k, err := newKeyring("NewKeyring", active, keys)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// LoadKeyring reads a key file (format in the package documentation).
func LoadKeyring(path string) (*Keyring, error) {
	if path == "" {
		return nil, errors.New("codec: loading keyring: empty key file path")
	}
	k, err := loadFile(path)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// LoadSecretKeyring is LoadKeyring for a deployment's key file (the
// RIPOSTE_CODEC_KEY_FILE and RIPOSTE_DECISION_KEY_FILE of worker, serve
// and doctor): a file every user of the machine may read is refused, since
// it decrypts every history and seals human decisions (group-readable is
// read: Kubernetes mounts Secret volumes 0440).
func LoadSecretKeyring(path string) (*Keyring, error) {
	if path == "" {
		return nil, errors.New("codec: loading keyring: empty key file path")
	}
	data, err := safefile.ReadSecret(path, safefile.MaxSize)
	if err != nil {
		return nil, fmt.Errorf("codec: reading key file: %w", err)
	}
	return parseKeyFile(data, fmt.Sprintf("key file %q", path), path)
}

// KeyringFromEnv loads the keyring named by RIPOSTE_CODEC_KEY_FILE (a path)
// or given inline by RIPOSTE_CODEC_KEYS (the key file's JSON). Setting both
// is an error; setting neither returns an error wrapping ErrNoKeyring, so a
// caller can fall back to EnsureDevKeyring in dev mode:
//
//	k, err := codec.KeyringFromEnv()
//	if errors.Is(err, codec.ErrNoKeyring) && devMode {
//		k, _, err = codec.EnsureDevKeyring(dataDir)
//	}
//
// A keyring from RIPOSTE_CODEC_KEYS has no file, so it cannot be rotated.
func KeyringFromEnv() (*Keyring, error) {
	file := strings.TrimSpace(os.Getenv(EnvKeyFile))
	inline := strings.TrimSpace(os.Getenv(EnvKeys))
	switch {
	case file != "" && inline != "":
		return nil, fmt.Errorf("codec: both %s and %s are set; set only one", EnvKeyFile, EnvKeys)
	case file != "":
		k, err := LoadSecretKeyring(file)
		if err != nil {
			return nil, fmt.Errorf("%w (from %s)", err, EnvKeyFile)
		}
		return k, nil
	case inline != "":
		return parseKeyFile([]byte(inline), "$"+EnvKeys, "")
	default:
		return nil, fmt.Errorf("codec: %w: set %s or %s", ErrNoKeyring, EnvKeyFile, EnvKeys)
	}
}

// EnsureDevKeyring loads <dataDir>/codec-keys.json, creating it on first use
// with one random key, id "dev-YYYYMMDD-<8 hex>", mode 0600 (dataDir is
// created with mode 0700 if missing). created reports whether the file was
// written by this call. An existing file that cannot be parsed is an error;
// it is never overwritten.
func EnsureDevKeyring(dataDir string) (k *Keyring, created bool, err error) {
	if dataDir == "" {
		return nil, false, errors.New("codec: dev keyring: empty data directory")
	}
	path := filepath.Join(dataDir, DevKeyFile)
	k, err = loadFile(path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, false, fmt.Errorf("codec: dev keyring: creating data directory: %w", err)
	}
	id, err := newKeyID("dev")
	if err != nil {
		return nil, false, err
	}
	raw, err := newKey()
	if err != nil {
		return nil, false, err
	}
	k, err = newKeyring(fmt.Sprintf("key file %q", path), id, map[string][]byte{id: raw})
	if err != nil {
		return nil, false, err
	}
	k.path = path
	data, err := k.marshal()
	if err != nil {
		return nil, false, err
	}
	switch err := writeFileAtomic(path, data, true); {
	case errors.Is(err, fs.ErrExist):
		// Another process created it first: use theirs.
		k, err := loadFile(path)
		if err != nil {
			return nil, false, err
		}
		return k, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("codec: dev keyring: %w", err)
	}
	return k, true, nil
}

// ActiveKeyID is the id of the key that Encode uses.
func (k *Keyring) ActiveKeyID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active
}

// KeyIDs lists the ids of all keys, sorted.
func (k *Keyring) KeyIDs() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return slices.Sorted(maps.Keys(k.keys))
}

// Path is the key file backing the keyring, or "" if it has none.
func (k *Keyring) Path() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.path
}

// Rotate generates a new random key, makes it the active key, keeps all
// previous keys for decryption and saves the keyring to its file (written
// atomically, mode 0600). It returns the new key id: "dev-YYYYMMDD-<8 hex>"
// if the previous active key was a dev key, "key-YYYYMMDD-<8 hex>"
// otherwise.
//
// Before writing, Rotate re-reads the file and keeps any key found there that
// this keyring lacks (a rotation by another process), so no key is lost. A
// keyring without a file (RIPOSTE_CODEC_KEYS, NewKeyring) cannot be rotated.
// Other processes must be restarted to see the new key.
func (k *Keyring) Rotate() (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.path == "" {
		return "", errors.New("codec: rotate: keyring has no key file (keys from " + EnvKeys + " or NewKeyring); rotate the file they came from instead")
	}
	keys := make(map[string]key, len(k.keys)+1)
	for id, v := range k.keys {
		keys[id] = v
	}
	retired := maps.Clone(k.retired)
	if onDisk, err := loadFile(k.path); err == nil {
		for id, v := range onDisk.keys {
			if have, ok := keys[id]; ok && !bytes.Equal(have.raw, v.raw) {
				return "", fmt.Errorf("codec: rotate: key file %q holds a different key under id %q than this process; refusing to overwrite it", k.path, id)
			}
			keys[id] = v
		}
		for id, at := range onDisk.retired {
			if _, ok := retired[id]; !ok {
				if retired == nil {
					retired = map[string]time.Time{}
				}
				retired[id] = at
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("codec: rotate: %w", err)
	}

	prefix := "key"
	if strings.HasPrefix(k.active, "dev-") {
		prefix = "dev"
	}
	var id string
	for {
		var err error
		if id, err = newKeyID(prefix); err != nil {
			return "", err
		}
		if _, taken := keys[id]; !taken {
			break
		}
	}
	raw, err := newKey()
	if err != nil {
		return "", err
	}
	aead, err := newAEAD(raw)
	if err != nil {
		return "", fmt.Errorf("codec: rotate: %w", err)
	}
	keys[id] = key{raw: raw, aead: aead}

	next := &Keyring{path: k.path, active: id, keys: keys, retired: retired}
	data, err := next.marshal()
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(k.path, data, false); err != nil {
		return "", fmt.Errorf("codec: rotate: %w", err)
	}
	k.active, k.keys, k.retired = id, keys, retired
	return id, nil
}

// activeKey returns the active key id and its AEAD.
func (k *Keyring) activeKey() (string, cipher.AEAD) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active, k.keys[k.active].aead
}

// lookup returns the AEAD of key id.
func (k *Keyring) lookup(id string) (cipher.AEAD, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	v, ok := k.keys[id]
	return v.aead, ok
}

// marshal renders the key file; callers hold k.mu or own k.
func (k *Keyring) marshal() ([]byte, error) {
	f := keyFile{Active: k.active, Keys: make(map[string]string, len(k.keys))}
	for id, v := range k.keys {
		f.Keys[id] = base64.StdEncoding.EncodeToString(v.raw)
	}
	for id, at := range k.retired {
		if f.Retired == nil {
			f.Retired = map[string]string{}
		}
		f.Retired[id] = at.UTC().Format(time.RFC3339)
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("codec: encoding key file: %w", err)
	}
	return append(data, '\n'), nil
}

func loadFile(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("codec: reading key file: %w", err)
	}
	return parseKeyFile(data, fmt.Sprintf("key file %q", path), path)
}

// parseKeyFile parses and validates the JSON key file format. source names
// the origin in errors; path is the backing file ("" for none).
func parseKeyFile(data []byte, source, path string) (*Keyring, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("codec: %s: %w: %s", source, ErrInvalidKeyring, fmt.Sprintf(format, args...))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f keyFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, bad("empty; want {\"active\": \"<id>\", \"keys\": {\"<id>\": \"<base64 of 32 bytes>\"}}")
		}
		return nil, bad("not valid JSON of the form {\"active\": \"<id>\", \"keys\": {\"<id>\": \"<base64>\"}}: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad("unexpected data after the JSON object")
	}
	if len(f.Keys) == 0 {
		return nil, bad("\"keys\" is missing or empty")
	}
	raw := make(map[string][]byte, len(f.Keys))
	for _, id := range slices.Sorted(maps.Keys(f.Keys)) {
		if err := validateKeyID(id); err != nil {
			return nil, bad("%v", err)
		}
		b, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(f.Keys[id]))
		if err != nil {
			return nil, bad("key %q is not valid standard (padded) base64: %v", id, err)
		}
		if len(b) != KeySize {
			return nil, bad("key %q is %d bytes after base64 decoding, want %d (AES-256; make one with `openssl rand -base64 32`)", id, len(b), KeySize)
		}
		raw[id] = b
	}
	if f.Active == "" {
		return nil, bad("\"active\" is missing; set it to the id of the key to encrypt with (one of %s)", strings.Join(slices.Sorted(maps.Keys(raw)), ", "))
	}
	if _, ok := raw[f.Active]; !ok {
		return nil, bad("active key %s is not in \"keys\" (have %s)", shownID(f.Active), strings.Join(slices.Sorted(maps.Keys(raw)), ", "))
	}
	k, err := newKeyring(source, f.Active, raw)
	if err != nil {
		return nil, err
	}
	for _, id := range slices.Sorted(maps.Keys(f.Retired)) {
		if _, ok := raw[id]; !ok {
			return nil, bad("retired key %s is not in \"keys\" (have %s): when a retired key is removed, remove %s from \"retired\" with it (a misspelt id would retire nothing)", shownID(id), strings.Join(slices.Sorted(maps.Keys(raw)), ", "), shownID(id))
		}
		if id == f.Active {
			return nil, bad("the active key %q cannot be retired; make another key active first", id)
		}
		at, err := time.Parse(time.RFC3339, strings.TrimSpace(f.Retired[id]))
		if err != nil {
			return nil, bad("retired time of key %q is not RFC 3339 (e.g. 2026-12-06T10:00:00Z): %v", id, err)
		}
		if k.retired == nil {
			k.retired = map[string]time.Time{}
		}
		k.retired[id] = at
	}
	k.path = path
	return k, nil
}

// newKeyring validates and builds a keyring without a path.
func newKeyring(source, active string, raw map[string][]byte) (*Keyring, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("codec: %s: %w: %s", source, ErrInvalidKeyring, fmt.Sprintf(format, args...))
	}
	if len(raw) == 0 {
		return nil, bad("no keys")
	}
	if _, ok := raw[active]; !ok {
		return nil, bad("active key %s is not among the keys (have %s)", shownID(active), strings.Join(slices.Sorted(maps.Keys(raw)), ", "))
	}
	keys := make(map[string]key, len(raw))
	for id, b := range raw {
		if err := validateKeyID(id); err != nil {
			return nil, bad("%v", err)
		}
		if len(b) != KeySize {
			return nil, bad("key %q is %d bytes, want %d (AES-256)", id, len(b), KeySize)
		}
		b = bytes.Clone(b)
		aead, err := newAEAD(b)
		if err != nil {
			return nil, bad("key %q: %v", id, err)
		}
		keys[id] = key{raw: b, aead: aead}
	}
	return &Keyring{active: active, keys: keys}, nil
}

func newAEAD(raw []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// validateKeyID accepts 1–64 characters of [A-Za-z0-9._-], starting with a
// letter or digit. Ids end up in payload metadata, file names of backups and
// error messages, so they are kept plain.
// shownID is id quoted for an error, or words saying it is not shown when
// it reads like a key (16 characters or more and safefile.LooksLikeSecret;
// a key is 44): a key written where its id belongs (id and key swapped,
// the key given as "active") must not be printed by the error that
// refuses it.
func shownID(id string) string {
	if len(id) >= 16 && safefile.LooksLikeSecret(id) {
		return "(not shown: it looks like a key, not an id; is a key written where its id belongs?)"
	}
	return strconv.Quote(id)
}

func validateKeyID(id string) error {
	if id == "" {
		return errors.New("empty key id")
	}
	if len(id) > maxKeyIDLen {
		return fmt.Errorf("key id %s is longer than %d characters", shownID(id), maxKeyIDLen)
	}
	for i, c := range id {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("key id %s is invalid: use letters, digits, '.', '_' and '-', starting with a letter or digit", shownID(id))
		}
	}
	return nil
}

func newKey() ([]byte, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("codec: generating key: %w", err)
	}
	return b, nil
}

func newKeyID(prefix string) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("codec: generating key id: %w", err)
	}
	return prefix + "-" + time.Now().UTC().Format("20060102") + "-" + hex.EncodeToString(b[:]), nil
}

// writeFileAtomic writes data to path with mode 0600, synced. With
// exclusive, an existing path is left alone and an error wrapping
// fs.ErrExist is returned (safefile.CreateFile); otherwise path is replaced
// (safefile.WriteFile).
func writeFileAtomic(path string, data []byte, exclusive bool) error {
	write := safefile.WriteFile
	if exclusive {
		write = safefile.CreateFile
	}
	if err := write(path, data, 0o600); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("key file %q: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("writing key file %q: %w", path, err)
	}
	return nil
}

// DeriveKeys derives one secondary key per key of the ring: HMAC-SHA256 of
// the key under label. The ids and the active id stay the same, so a key
// rotation rotates the derived keys too while old ones stay usable. Other
// subsystems (decision signing) get keys nobody can compute without the
// codec keys, and nothing derived can decrypt payloads.
func (k *Keyring) DeriveKeys(label string) (active string, keys map[string][]byte) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	keys = make(map[string][]byte, len(k.keys))
	for id, kk := range k.keys {
		m := hmac.New(sha256.New, kk.raw)
		m.Write([]byte(label))
		keys[id] = m.Sum(nil)
	}
	return k.active, keys
}

// Retired returns the retirement time of each retired key (the key file's
// "retired"): such a key still decrypts, but decision seals it makes after
// that time are refused (see internal/signing).
func (k *Keyring) Retired() map[string]time.Time {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return maps.Clone(k.retired)
}

// ParseKeyring parses a key file's JSON held in memory; source names it in
// errors.
func ParseKeyring(data []byte, source string) (*Keyring, error) {
	return parseKeyFile(data, source, "")
}
