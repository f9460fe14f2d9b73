package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/riposte-dev/riposte/internal/identity"
	"github.com/riposte-dev/riposte/internal/safefile"
)

// Environment variables of optional OIDC bearer tokens (riposte serve and
// riposte dev). Without RIPOSTE_OIDC_ISSUER, OIDC is off.
const (
	EnvOIDCIssuer   = "RIPOSTE_OIDC_ISSUER"
	EnvOIDCAudience = "RIPOSTE_OIDC_AUDIENCE"
	EnvOIDCJWKSURL  = "RIPOSTE_OIDC_JWKS_URL"
	EnvOIDCMapping  = "RIPOSTE_OIDC_MAPPING_FILE"
	EnvOIDCAlgs     = "RIPOSTE_OIDC_ALGS"
)

// OIDCOptions configure OIDCVerifier.
type OIDCOptions struct {
	// Issuer must equal the tokens' iss.
	Issuer string
	// Audience must be among the tokens' aud (the client id Riposte's
	// API is registered under at the IdP).
	Audience string
	// JWKSURL is where the IdP's signing keys are; "" discovers it from
	// {Issuer}/.well-known/openid-configuration at start.
	JWKSURL string
	// MappingFile maps subjects (sub) or verified emails to Slack users
	// and scopes (see OIDCMapping).
	MappingFile string
	// Algs are the accepted signature algorithms; default RS256, ES256
	// ("none" and HMAC algorithms are never accepted).
	Algs []string
	// HTTPClient fetches the JWKS (and discovery); nil = a 10 s client.
	HTTPClient *http.Client
	// Now is the clock of the JWKS cache (OIDCKeyCacheTTL); nil = time.Now.
	Now func() time.Time
}

// OIDCKeyCacheTTL is how long a fetched JWKS is trusted before it is
// fetched again: a key the IdP has withdrawn stops verifying tokens at most
// this long after (go-oidc alone keeps every key it fetched for the life of
// the process). While the JWKS cannot be fetched the keys fetched last are
// kept.
const OIDCKeyCacheTTL = 15 * time.Minute

// OIDCOptionsFromEnv reads the RIPOSTE_OIDC_* variables; ok is false when
// none is set. Any one of them turns OIDC on, so that a configuration
// without its issuer is refused by NewOIDCVerifier rather than silently
// ignored.
func OIDCOptionsFromEnv() (OIDCOptions, bool) {
	o := OIDCOptions{
		Issuer:      strings.TrimSpace(os.Getenv(EnvOIDCIssuer)),
		Audience:    strings.TrimSpace(os.Getenv(EnvOIDCAudience)),
		JWKSURL:     strings.TrimSpace(os.Getenv(EnvOIDCJWKSURL)),
		MappingFile: strings.TrimSpace(os.Getenv(EnvOIDCMapping)),
	}
	for _, a := range strings.Split(os.Getenv(EnvOIDCAlgs), ",") {
		if a = strings.TrimSpace(a); a != "" {
			o.Algs = append(o.Algs, a)
		}
	}
	on := o.Issuer != "" || o.Audience != "" || o.JWKSURL != "" || o.MappingFile != "" || len(o.Algs) > 0
	return o, on
}

// OIDCMapping is the mapping file: which IdP subjects act as which Slack
// user, with which scopes. A subject is matched by sub first; by email only
// when the token says email_verified is true.
//
//	{"users": [
//	  {"sub": "00u1ab2cd3", "slack": "U0SOCLEAD1", "scopes": ["read", "approve"]},
//	  {"email": "ops@example.com", "slack": "U0INFRA001", "scopes": ["read", "operate"]}
//	]}
type OIDCMapping struct {
	Users []OIDCUser `json:"users"`
}

// OIDCUser is one mapping entry.
type OIDCUser struct {
	Sub    string   `json:"sub,omitempty"`
	Email  string   `json:"email,omitempty"`
	Slack  string   `json:"slack"`
	Scopes []string `json:"scopes"`
}

// OIDCVerifier verifies IdP-issued JWTs (signature against the issuer's
// JWKS, iss, aud, exp/nbf, algorithm) and maps them to a Principal.
type OIDCVerifier struct {
	verifier *oidc.IDTokenVerifier
	path     string

	// The mapping as last read from path, re-read when the file's
	// modification time or size changes (as the token store is), so that
	// a person taken out of it, or a scope removed, counts from the next
	// request, not from the next restart.
	mu      sync.Mutex
	mod     time.Time
	size    int64
	bySub   map[string]OIDCUser
	byEmail map[string]OIDCUser
	loadErr error
}

// ErrOIDCMapping wraps a mapping file that can no longer be read or is
// broken since the server started: it authenticates nobody until it is
// mended (the server's problem, not the caller's: the API answers 503).
var ErrOIDCMapping = errors.New("the OIDC mapping file cannot be used")

// NewOIDCVerifier checks the options, loads the mapping and prepares the
// JWKS (fetched on first use and again when a token names an unknown key).
func NewOIDCVerifier(ctx context.Context, o OIDCOptions) (*OIDCVerifier, error) {
	var missing []string
	if o.Issuer == "" {
		missing = append(missing, EnvOIDCIssuer)
	}
	if o.Audience == "" {
		missing = append(missing, EnvOIDCAudience)
	}
	if o.MappingFile == "" {
		missing = append(missing, EnvOIDCMapping)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("OIDC: %s must be set (issuer, audience and mapping file go together)", strings.Join(missing, ", "))
	}
	algs := o.Algs
	if len(algs) == 0 {
		algs = []string{oidc.RS256, oidc.ES256}
	}
	for _, a := range algs {
		switch a {
		case oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA:
		default:
			return nil, fmt.Errorf("OIDC: algorithm %q is not accepted (asymmetric signatures only: RS256, ES256, PS256, EdDSA…)", a)
		}
	}
	out := &OIDCVerifier{path: o.MappingFile}
	if err := out.loadMapping(); err != nil {
		return nil, err
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	jwks := o.JWKSURL
	if jwks == "" {
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, hc), o.Issuer)
		if err != nil {
			return nil, fmt.Errorf("OIDC: discovering %s: %w (or set %s)", o.Issuer, err, EnvOIDCJWKSURL)
		}
		var meta struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := p.Claims(&meta); err != nil || meta.JWKSURI == "" {
			return nil, fmt.Errorf("OIDC: %s publishes no jwks_uri; set %s", o.Issuer, EnvOIDCJWKSURL)
		}
		jwks = meta.JWKSURI
	}
	keys := &jwksKeySet{ctx: context.WithoutCancel(ctx), hc: hc, url: jwks, now: o.Now}
	if keys.now == nil {
		keys.now = time.Now
	}
	for _, a := range algs {
		keys.algs = append(keys.algs, jose.SignatureAlgorithm(a))
	}
	out.verifier = oidc.NewVerifier(o.Issuer, keys, &oidc.Config{ClientID: o.Audience, SupportedSigningAlgs: algs})
	return out, nil
}

// loadMapping reads the mapping file into v (v.mu held, or v not yet
// shared). A file that cannot be read or is broken leaves no mapping:
// nobody is authenticated by it.
func (v *OIDCVerifier) loadMapping() error {
	v.bySub, v.byEmail = nil, nil
	st, err := os.Stat(v.path)
	if err != nil {
		v.loadErr = fmt.Errorf("OIDC mapping file: %w", err)
		return v.loadErr
	}
	v.mod, v.size = st.ModTime(), st.Size()
	m, err := loadOIDCMapping(v.path)
	if err != nil {
		v.loadErr = err
		return err
	}
	v.bySub, v.byEmail, v.loadErr = map[string]OIDCUser{}, map[string]OIDCUser{}, nil
	for _, u := range m.Users {
		if u.Sub != "" {
			v.bySub[u.Sub] = u
		}
		if u.Email != "" {
			v.byEmail[strings.ToLower(u.Email)] = u
		}
	}
	return nil
}

// mapping returns the mapping, read again when the file changed since it
// was last read; an error (wrapping ErrOIDCMapping) when the file cannot
// be read or is broken.
func (v *OIDCVerifier) mapping() (bySub, byEmail map[string]OIDCUser, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	st, err := os.Stat(v.path)
	switch {
	case err != nil:
		_ = v.loadMapping()
	case !st.ModTime().Equal(v.mod) || st.Size() != v.size:
		_ = v.loadMapping()
	}
	if v.loadErr != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrOIDCMapping, v.loadErr)
	}
	return v.bySub, v.byEmail, nil
}

func loadOIDCMapping(path string) (OIDCMapping, error) {
	var m OIDCMapping
	b, err := safefile.ReadTrusted(path, MaxFileSize)
	if err != nil {
		return m, fmt.Errorf("OIDC mapping file: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("OIDC mapping file %s: %w", path, err)
	}
	// Each subject and each email once: which person a token is must not
	// depend on the order of the entries.
	subs, emails := map[string]int{}, map[string]int{}
	for i, u := range m.Users {
		where := fmt.Sprintf("OIDC mapping file %s: users[%d]", path, i)
		if u.Sub == "" && u.Email == "" {
			return m, fmt.Errorf("%s: needs sub or email", where)
		}
		if j, dup := subs[u.Sub]; dup && u.Sub != "" {
			return m, fmt.Errorf("%s: sub %q is already mapped (users[%d]); map each subject once", where, clipSub(u.Sub), j)
		}
		if j, dup := emails[strings.ToLower(u.Email)]; dup && u.Email != "" {
			return m, fmt.Errorf("%s: email %q is already mapped (users[%d]); map each email once", where, clipSub(u.Email), j)
		}
		if u.Sub != "" {
			subs[u.Sub] = i
		}
		if u.Email != "" {
			emails[strings.ToLower(u.Email)] = i
		}
		if identity.Normalize(u.Slack) == "" {
			return m, fmt.Errorf("%s.slack: the Slack user id is required", where)
		}
		if !identity.IsSlackUserID(u.Slack) {
			return m, fmt.Errorf("%s.slack: %q is not a Slack user id (U… or W…); four-eyes compares it with the user id of Slack clicks", where, clipSub(u.Slack))
		}
		scopes, err := ParseScopes(strings.Join(u.Scopes, ","))
		if err != nil {
			return m, fmt.Errorf("%s.scopes: %w", where, err)
		}
		m.Users[i].Scopes = scopes
	}
	return m, nil
}

// Verify authenticates a bearer JWT and returns the mapped principal.
func (v *OIDCVerifier) Verify(ctx context.Context, raw string) (*Principal, error) {
	// The key set fetches with its own client context (NewRemoteKeySet).
	// go-oidc flattens the key set's error into text; the key set notes a
	// failed fetch of the JWKS in ctx so it is told from a bad token.
	fetch := &keyFetch{}
	tok, err := v.verifier.Verify(context.WithValue(ctx, keyFetchKey{}, fetch), raw)
	if err != nil {
		if fetch.err != nil {
			return nil, fmt.Errorf("%w: %v", ErrIdPUnavailable, fetch.err)
		}
		return nil, err
	}
	// The email claims are read only when the subject is not mapped, so a
	// mapped subject never fails on them; email_verified may be a JSON
	// bool or, as some providers send it (Apple), the string "true".
	var c struct {
		Email         json.RawMessage `json:"email"`
		EmailVerified json.RawMessage `json:"email_verified"`
	}
	if err := tok.Claims(&c); err != nil {
		return nil, fmt.Errorf("reading claims: %w", err)
	}
	bySub, byEmail, err := v.mapping()
	if err != nil {
		return nil, err
	}
	u, ok := bySub[tok.Subject]
	var email string
	if !ok && len(c.Email) > 0 {
		if err := json.Unmarshal(c.Email, &email); err != nil {
			return nil, fmt.Errorf("subject %q is not in the mapping file, and its email claim is not a string", clipSub(tok.Subject))
		}
	}
	if !ok && email != "" {
		if !claimTrue(c.EmailVerified) {
			return nil, fmt.Errorf("subject %q is not in the mapping file, and its email is not verified (email_verified)", clipSub(tok.Subject))
		}
		u, ok = byEmail[strings.ToLower(email)]
	}
	if !ok {
		return nil, fmt.Errorf("subject %q (email %q) is not in the OIDC mapping file", clipSub(tok.Subject), clipSub(email))
	}
	return &Principal{Identity: u.Slack, Scopes: u.Scopes, Kind: KindOIDC, TokenID: "oidc:" + clipSub(tok.Subject)}, nil
}

// ErrIdPUnavailable wraps a token that could not be checked because the
// identity provider's signing keys (JWKS) could not be fetched: the
// server's problem, not the caller's (the API answers 503).
var ErrIdPUnavailable = errors.New("the identity provider's signing keys could not be fetched")

// OIDCMinRefetch is the least time between the JWKS fetch that verified
// nothing new and the next fetch made for a token the keys fetched do not
// verify (a key id the JWKS lacks, or a signature the key of its key id
// does not check). A key the IdP publishes is picked up within it (IdPs
// publish keys before they sign with them), and tokens forged with
// made-up key ids, which anyone can make, cost the IdP at most one fetch
// per period however many arrive (go-oidc fetches again for each).
const OIDCMinRefetch = 30 * time.Second

// OIDCFailedRefetch is the least time between a JWKS fetch that failed
// (the IdP down, answering 5xx, or 429 because it rate-limits its keys
// endpoint) and the next one: meanwhile the keys fetched last still verify
// and a token they do not verify is refused as not checked (503) without a
// fetch, so neither made-up key ids nor valid tokens with keys older than
// OIDCKeyCacheTTL ask a failing IdP for its keys on every request.
const OIDCFailedRefetch = 5 * time.Second

// maxJWKSSize bounds a JWKS read from the IdP.
const maxJWKSSize = 1 << 20

// jwksKeySet verifies signatures with the keys of the IdP's JWKS: fetched
// on first use, again once they are OIDCKeyCacheTTL old (so keys the IdP
// withdrew stop verifying), and again for a token they do not verify, at
// most every OIDCMinRefetch. While the JWKS cannot be fetched the keys
// fetched last still verify; a token they cannot verify is noted in the
// request's context (keyFetch) as not checked, which IDTokenVerifier
// reports only as text.
type jwksKeySet struct {
	ctx  context.Context // fetches outlive the request that started them
	hc   *http.Client
	url  string
	now  func() time.Time
	algs []jose.SignatureAlgorithm

	mu       sync.Mutex
	keys     []jose.JSONWebKey // fetched last; kept while fetches fail
	keysAt   time.Time         // when keys were fetched; zero: never
	failedAt time.Time         // when the last fetch failed; zero: it did not
	failErr  error             // why it failed
	flight   *jwksFetch        // the fetch under way, shared by its callers
}

// jwksFetch is one fetch of the JWKS; done is closed once keys and err
// are set.
type jwksFetch struct {
	done chan struct{}
	keys []jose.JSONWebKey
	err  error
}

type keyFetchKey struct{}

type keyFetch struct{ err error }

func (k *jwksKeySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, k.algs)
	if err != nil {
		return nil, fmt.Errorf("malformed JWT: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("a JWT with one signature is expected")
	}
	hdr := jws.Signatures[0].Header
	k.mu.Lock()
	keys, at, failedAt, failErr := k.keys, k.keysAt, k.failedAt, k.failErr
	k.mu.Unlock()
	now := k.now()
	age := now.Sub(at)
	if !at.IsZero() && age >= 0 && age < OIDCKeyCacheTTL {
		if payload, ok := verifyWith(jws, hdr, keys); ok {
			return payload, nil
		}
		if age < OIDCMinRefetch {
			return nil, fmt.Errorf("no key of the JWKS verifies it (key id %q; the JWKS is fetched again for such a token at most every %s)", clipSub(hdr.KeyID), OIDCMinRefetch)
		}
	}
	var fresh []jose.JSONWebKey
	var ferr error
	if since := now.Sub(failedAt); !failedAt.IsZero() && since >= 0 && since < OIDCFailedRefetch {
		ferr = failErr // the IdP failed a moment ago: not asked again yet
	} else {
		fresh, ferr = k.fetch(ctx)
	}
	if ferr != nil {
		// The IdP cannot be reached: the keys fetched last still count.
		if payload, ok := verifyWith(jws, hdr, keys); ok {
			return payload, nil
		}
		if f, ok := ctx.Value(keyFetchKey{}).(*keyFetch); ok {
			f.err = ferr
		}
		return nil, fmt.Errorf("fetching keys: %w", ferr)
	}
	if payload, ok := verifyWith(jws, hdr, fresh); ok {
		return payload, nil
	}
	return nil, fmt.Errorf("no key of the JWKS verifies it (key id %q)", clipSub(hdr.KeyID))
}

// verifyWith verifies jws with the key of its key id (every key when it
// names none) meant for signatures with its algorithm: a key whose use is
// not "sig" or whose alg is another is not tried (RFC 7517 §4.2, §4.4;
// RFC 8725 §3.1: one algorithm per key).
func verifyWith(jws *jose.JSONWebSignature, hdr jose.Header, keys []jose.JSONWebKey) ([]byte, bool) {
	for i := range keys {
		key := &keys[i]
		if (hdr.KeyID != "" && key.KeyID != hdr.KeyID) || (key.Use != "" && key.Use != "sig") ||
			(key.Algorithm != "" && key.Algorithm != hdr.Algorithm) {
			continue
		}
		if payload, err := jws.Verify(key); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// fetch fetches the JWKS, or waits for the fetch under way; the keys it
// fetched replace those kept.
func (k *jwksKeySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	f := k.flight
	if f == nil {
		f = &jwksFetch{done: make(chan struct{})}
		k.flight = f
		go func() {
			keys, err := k.get()
			k.mu.Lock()
			if err == nil {
				k.keys, k.keysAt, k.failedAt, k.failErr = keys, k.now(), time.Time{}, nil
			} else {
				k.failedAt, k.failErr = k.now(), err
			}
			k.flight = nil
			k.mu.Unlock()
			f.keys, f.err = keys, err
			close(f.done)
		}()
	}
	k.mu.Unlock()
	select {
	case <-f.done:
		return f.keys, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// get reads the JWKS from the IdP.
func (k *jwksKeySet) get() ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(k.ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := k.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", k.url, err)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s answered %s", k.url, resp.Status)
	case len(body) > maxJWKSSize:
		return nil, fmt.Errorf("%s: the JWKS is larger than %d bytes", k.url, maxJWKSSize)
	}
	// Each key on its own: a key whose type, curve or members this cannot
	// use (an Ed448 or secp256k1 key, an X25519 key for encryption) is
	// left out, as RFC 7517 §5 says, not the whole set with it.
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("%s is not a JWKS: %w", k.url, err)
	}
	if set.Keys == nil {
		return nil, fmt.Errorf("%s is not a JWKS: it has no keys member", k.url)
	}
	keys := make([]jose.JSONWebKey, 0, len(set.Keys))
	var skipped error
	for i, raw := range set.Keys {
		var key jose.JSONWebKey
		if err := json.Unmarshal(raw, &key); err != nil {
			skipped = fmt.Errorf("keys[%d]: %w", i, err)
			continue
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 && skipped != nil {
		return nil, fmt.Errorf("%s: no key of the JWKS can be used (%v)", k.url, skipped)
	}
	return keys, nil
}

// claimTrue reports whether a boolean claim is true: the JSON value true,
// or the string "true" (any case).
func claimTrue(raw json.RawMessage) bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	var s string
	return json.Unmarshal(raw, &s) == nil && strings.EqualFold(s, "true")
}

func clipSub(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

var _ Verifier = (*OIDCVerifier)(nil)
