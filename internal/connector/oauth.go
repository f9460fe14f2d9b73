package connector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// --- OAuth2 client credentials, cached in process ---

type tokenCache struct {
	mu sync.Mutex
	m  map[string]cachedToken
}

type cachedToken struct {
	token   string
	expires time.Time
}

func newTokenCache() *tokenCache { return &tokenCache{m: map[string]cachedToken{}} }

func (t *tokenCache) get(key string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ct, ok := t.m[key]
	if !ok || time.Until(ct.expires) < time.Minute {
		return "", false
	}
	return ct.token, true
}

func (t *tokenCache) put(key, token string, ttl time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m[key] = cachedToken{token: token, expires: time.Now().Add(ttl)}
}

func (t *tokenCache) drop(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, key)
}

var tokenCacheInit sync.Mutex

func (e *Env) tokenCache() *tokenCache {
	tokenCacheInit.Lock()
	defer tokenCacheInit.Unlock()
	if e.tokens == nil {
		e.tokens = newTokenCache()
	}
	return e.tokens
}

// ClientCredentials reads the client_id option and resolves the
// client_secret of a connection that uses an OAuth2 client-credentials
// grant (Entra apps, CrowdStrike API clients).
func (c *Conn) ClientCredentials() (id, secret string, err error) {
	if id, err = c.RequireOption("client_id"); err != nil {
		return "", "", err
	}
	if secret, err = c.Secret("client_secret"); err != nil {
		return "", "", err
	}
	return id, secret, nil
}

// UseClientCredentials makes c authenticate with a bearer token from an
// OAuth2 client-credentials grant at tokenURL, cached until it expires and
// dropped on a 401 so the next try fetches a fresh one.
func (c *Conn) UseClientCredentials(tokenURL string, form url.Values) {
	form.Set("grant_type", "client_credentials")
	sum := sha256.Sum256([]byte(form.Encode()))
	key := c.Name + "\x00" + tokenURL + "\x00" + hex.EncodeToString(sum[:])
	cache := c.Env.tokenCache()
	c.Reauth = func() { cache.drop(key) }
	c.Auth = func(ctx context.Context, req *http.Request) error {
		tok, ok := cache.get(key)
		if !ok {
			var ttl time.Duration
			var err error
			tok, ttl, err = c.fetchToken(ctx, tokenURL, form)
			if err != nil {
				return err
			}
			cache.put(key, tok, ttl)
		}
		// A token is a secret the moment we hold it: a vendor echoing it
		// in an error body must not put it in history or logs.
		c.AddSecret(tok)
		req.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
}

func (c *Conn) fetchToken(ctx context.Context, tokenURL string, form url.Values) (string, time.Duration, error) {
	resp, err := c.Do(ctx, Request{Method: http.MethodPost, URL: tokenURL, Form: form, NoAuth: true})
	if err != nil {
		return "", 0, fmt.Errorf("getting an access token: %w", err)
	}
	var tr struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		// Entra and CrowdStrike error shapes.
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Errors      []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(resp.Body, &tr)
	if resp.Status >= 300 && resp.Status < 400 && c.TokenHook != nil {
		// A redirect not followed (to another host) may still say where
		// the client belongs: CrowdStrike's gateway answers a client of
		// another cloud with a 308 to that cloud's token endpoint and its
		// X-CS-Region. The hook reads it; the Location itself is never
		// followed with the credentials.
		if err := c.TokenHook(resp.Header); err != nil {
			return "", 0, err
		}
	}
	if !resp.OK() {
		msg := tr.Description
		if msg == "" {
			msg = tr.Error
		}
		if msg == "" && len(tr.Errors) > 0 {
			msg = tr.Errors[0].Message
		}
		if resp.Status == http.StatusBadRequest || resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden {
			if msg == "" {
				msg = Snippet(resp.Body)
			}
			return "", 0, NewFailure(KindAuth, fmt.Sprintf("%s refused the client credentials (HTTP %d: %s); check the credentials of connection %q", c.Label, resp.Status, msg, c.Name))
		}
		return "", 0, fmt.Errorf("getting an access token: %w", c.StatusError(resp, msg, ""))
	}
	if c.TokenHook != nil {
		if err := c.TokenHook(resp.Header); err != nil {
			return "", 0, err
		}
	}
	if tr.AccessToken == "" {
		return "", 0, NewFailure(KindVendorError, fmt.Sprintf("%s returned no access_token", c.Where()))
	}
	c.AddSecret(tr.AccessToken)
	return tr.AccessToken, tokenTTL(tr.ExpiresIn), nil
}

// tokenTTL reads expires_in (seconds, a number or, from some vendors, a
// string): 30 minutes when absent or unreadable, and at most a day, so a
// vendor's huge value neither overflows the expiry nor keeps a token
// cached past a credential rotation for long.
func tokenTTL(expiresIn json.RawMessage) time.Duration {
	const fallback, longest = 30 * time.Minute, 24 * time.Hour
	s := strings.Trim(string(expiresIn), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(s, "-") {
		return longest
	}
	if err != nil || n <= 0 {
		return fallback
	}
	if n > int64(longest/time.Second) {
		return longest
	}
	return time.Duration(n) * time.Second
}
