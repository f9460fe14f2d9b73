// Package auth holds Riposte's API identities: per-person tokens bound to
// one Slack user id with scopes, stored hashed in a file (the data dir in
// dev, a mounted secret in production), the dev token bound to RIPOSTE_USER,
// and optional OIDC bearer tokens. Every human decision takes its identity
// from the Principal authenticated here, never from a request body.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/riposte-dev/riposte/internal/identity"
	"github.com/riposte-dev/riposte/internal/safefile"
)

// Scopes a token may hold.
const (
	// ScopeIntake posts detections (detectors); nothing else.
	ScopeIntake = "intake"
	// ScopeRead lists and shows runs, approvals, playbooks, policy.
	ScopeRead = "read"
	// ScopeApprove approves and denies gates, as the token's person.
	ScopeApprove = "approve"
	// ScopeOperate rolls back, extends holds and switches safe mode.
	ScopeOperate = "operate"
	// ScopeVouch lets an intake caller name the requester of a detection
	// (X-Riposte-Requester): a SOAR front end submitting for its users.
	ScopeVouch = "vouch"
	// ScopeAdmin implies every scope (reload playbooks, and all above).
	ScopeAdmin = "admin"
)

// AllScopes lists the scopes in a stable order.
var AllScopes = []string{ScopeIntake, ScopeRead, ScopeApprove, ScopeOperate, ScopeVouch, ScopeAdmin}

// Kinds of principal.
const (
	KindToken = "token"
	KindDev   = "dev"
	KindOIDC  = "oidc"
)

// Principal is an authenticated caller.
type Principal struct {
	// Identity is the Slack user id the caller acts as.
	Identity string
	Scopes   []string
	Kind     string
	// TokenID names the token (never the secret) for audit.
	TokenID string
}

// Has reports whether p holds scope (admin holds all).
func (p *Principal) Has(scope string) bool {
	if p == nil {
		return false
	}
	for _, s := range p.Scopes {
		if s == scope || s == ScopeAdmin {
			return true
		}
	}
	return false
}

// Credential names what authenticated p, for a decision's record
// (workflows.Decision.Credential): "token:<id>" for a personal token, the
// OIDC subject ("oidc:<sub>"), "dev" for riposte dev's shared token; never
// a secret.
func (p *Principal) Credential() string {
	switch {
	case p == nil:
		return ""
	case p.Kind == KindToken:
		return "token:" + p.TokenID
	}
	return p.TokenID
}

// String is the audit form: kind, token id and identity.
func (p *Principal) String() string {
	if p == nil {
		return "anonymous"
	}
	return fmt.Sprintf("%s:%s(%s)", p.Kind, p.TokenID, p.Identity)
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of a request, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}

// ParseScopes parses "approve,operate"; unknown scopes are an error naming
// the valid ones.
func ParseScopes(s string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		ok := false
		for _, v := range AllScopes {
			ok = ok || v == p
		}
		if !ok {
			return nil, fmt.Errorf("unknown scope %q (valid: %s)", p, strings.Join(AllScopes, ", "))
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scope given (valid: %s)", strings.Join(AllScopes, ", "))
	}
	sort.Strings(out)
	return out, nil
}

// Record is one stored token: its hash, never the token.
type Record struct {
	ID        string     `json:"id"`
	User      string     `json:"user"`
	Scopes    []string   `json:"scopes"`
	Hash      string     `json:"sha256"`
	Note      string     `json:"note,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

type storeFile struct {
	Tokens []Record `json:"tokens"`
}

// TokensFile is the store's file name in the data dir.
const TokensFile = "tokens.json"

// MaxFileSize bounds the token file read.
const MaxFileSize = 4 << 20

// TokenPrefix starts every personal token.
const TokenPrefix = "rpk_"

// ErrRevoked is returned by Lookup for a revoked token.
var ErrRevoked = errors.New("token revoked")

// ErrNotSlackUser is returned by Lookup for a token whose record binds it
// to something other than a Slack user id (a file written before Create
// required one, or edited by hand): four-eyes compares the identity with
// Slack clicks' user ids, so it would make one person two.
var ErrNotSlackUser = errors.New("token not bound to a Slack user id")

// Store is a token file. Lookups re-read the file when it changed, so a
// revocation by `riposte tokens revoke` takes effect on the next request.
type Store struct {
	path string

	mu      sync.Mutex
	mod     time.Time
	size    int64
	byHash  map[string]Record
	loadErr error
}

// NewStore returns the store backed by path (created on first Create).
func NewStore(path string) *Store { return &Store{path: path} }

// Path is the backing file.
func (s *Store) Path() string { return s.path }

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// readFile reads the store, refusing non-regular and oversized files.
func (s *Store) readFile() (storeFile, os.FileInfo, error) {
	var f storeFile
	fh, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil, nil
	}
	if err != nil {
		return f, nil, fmt.Errorf("token file: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return f, nil, fmt.Errorf("token file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return f, nil, fmt.Errorf("token file %s is not a regular file", s.path)
	}
	if st.Size() > MaxFileSize {
		return f, nil, fmt.Errorf("token file %s is %d bytes; the limit is %d", s.path, st.Size(), MaxFileSize)
	}
	if err := safefile.CheckTrusted(s.path, st); err != nil {
		return f, nil, fmt.Errorf("token file: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return f, nil, fmt.Errorf("token file: %w", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return f, st, nil
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, nil, fmt.Errorf("token file %s: %w", s.path, err)
	}
	return f, st, nil
}

func (s *Store) refresh() error {
	st, err := os.Stat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		s.byHash, s.loadErr, s.mod, s.size = nil, nil, time.Time{}, 0
		return nil
	}
	if err != nil {
		return err
	}
	if s.byHash != nil && st.ModTime().Equal(s.mod) && st.Size() == s.size {
		return s.loadErr
	}
	f, fst, err := s.readFile()
	s.mod, s.size = st.ModTime(), st.Size()
	if fst != nil {
		s.mod, s.size = fst.ModTime(), fst.Size()
	}
	s.loadErr = err
	m := map[string]Record{}
	if err == nil {
		for _, r := range f.Tokens {
			m[r.Hash] = r
		}
	}
	s.byHash = m
	return err
}

// Lookup authenticates a bearer token. ok is false when the store does not
// know it; err is ErrRevoked for a revoked one.
func (s *Store) Lookup(tok string) (*Principal, bool, error) {
	if s == nil || !strings.HasPrefix(tok, TokenPrefix) {
		return nil, false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(); err != nil {
		// Fail closed: a broken token file authenticates nobody.
		return nil, false, err
	}
	r, ok := s.byHash[hashToken(tok)]
	if !ok {
		return nil, false, nil
	}
	if r.RevokedAt != nil {
		return nil, true, fmt.Errorf("%w (%s, revoked %s)", ErrRevoked, r.ID, r.RevokedAt.UTC().Format(time.RFC3339))
	}
	if !identity.IsSlackUserID(strings.TrimSpace(r.User)) {
		return nil, true, fmt.Errorf("%w (%s is bound to %q): revoke it and create one with --user U… (the member's Slack user id)", ErrNotSlackUser, r.ID, r.User)
	}
	return &Principal{Identity: r.User, Scopes: r.Scopes, Kind: KindToken, TokenID: r.ID}, true, nil
}

// Create adds a token for user with scopes and returns it; only its hash is
// stored.
func (s *Store) Create(user string, scopes []string, note string, now time.Time) (string, Record, error) {
	user = strings.TrimSpace(user)
	if identity.Normalize(user) == "" {
		return "", Record{}, errors.New("--user is required: the Slack user id the token acts as (e.g. U012AB3CD)")
	}
	if identity.Normalize(user) != strings.ToLower(user) {
		return "", Record{}, fmt.Errorf("--user %q holds invisible, space or compatibility characters; give the plain Slack user id", user)
	}
	if len(user) > 256 {
		return "", Record{}, errors.New("--user is longer than 256 bytes")
	}
	if !identity.IsSlackUserID(user) {
		// Four-eyes compares this identity with the user id of Slack
		// clicks: an email or a name would make the person two people.
		return "", Record{}, fmt.Errorf("--user %q is not a Slack user id (U… or W…, as in the member's profile → Copy member ID)", user)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", Record{}, err
	}
	idb := make([]byte, 6)
	if _, err := rand.Read(idb); err != nil {
		return "", Record{}, err
	}
	id := "t" + hex.EncodeToString(idb)
	tok := TokenPrefix + id + "_" + hex.EncodeToString(raw)
	rec := Record{ID: id, User: user, Scopes: scopes, Hash: hashToken(tok), Note: note, CreatedAt: now.UTC()}
	err := s.update(func(f *storeFile) error {
		f.Tokens = append(f.Tokens, rec)
		return nil
	})
	return tok, rec, err
}

// List returns the stored records (hashes included; never tokens).
func (s *Store) List() ([]Record, error) {
	f, _, err := s.readFile()
	return f.Tokens, err
}

// Revoke marks a token revoked by id (or the id's unique prefix); it stays
// listed for audit.
func (s *Store) Revoke(id string, now time.Time) (Record, error) {
	var out Record
	err := s.update(func(f *storeFile) error {
		idx := -1
		for i, r := range f.Tokens {
			if r.ID == id || (len(id) >= 4 && strings.HasPrefix(r.ID, id)) {
				if idx >= 0 && r.ID != id {
					return fmt.Errorf("token id prefix %q is ambiguous", id)
				}
				idx = i
				if r.ID == id {
					break
				}
			}
		}
		if idx < 0 {
			return fmt.Errorf("no token with id %q (riposte tokens list shows them)", id)
		}
		if f.Tokens[idx].RevokedAt == nil {
			t := now.UTC()
			f.Tokens[idx].RevokedAt = &t
		}
		out = f.Tokens[idx]
		return nil
	})
	return out, err
}

// update rewrites the file atomically (safefile.WriteFile), mode 0600,
// holding the file's lock from the read to the write: another process
// changing it at the same time (riposte tokens create and revoke at once)
// waits, and its change is kept.
func (s *Store) update(fn func(*storeFile) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	unlock, err := lockFile(s.path)
	if err != nil {
		return err
	}
	defer unlock()
	f, _, err := s.readFile()
	if err != nil {
		return err
	}
	if err := fn(&f); err != nil {
		return err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	// Synced, directory included: a revocation survives a power loss.
	if err := safefile.WriteFile(s.path, append(b, '\n'), 0o600); err != nil {
		return err
	}
	s.byHash = nil // re-read on next lookup
	return nil
}

// Verifier authenticates bearer tokens issued by someone else (OIDC).
type Verifier interface {
	Verify(ctx context.Context, token string) (*Principal, error)
}

// Bearer returns the token of r's "Authorization: Bearer …" header. The
// scheme is matched case-insensitively (RFC 7235 §2.1: "bearer" and
// "BEARER" are the same scheme).
func Bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
