// Package connector is the shared plumbing of the vendor connectors
// (activities/<vendor>/): connection types and secrets, one HTTP path with
// timeouts, auth, idempotency headers, rate-limit handling, error
// classification and redaction, OAuth2 client credentials and call
// params, so each vendor folder holds only what is specific to its API.
package connector

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// DefaultCallTimeout bounds one vendor request unless Env.CallTimeout is set.
const DefaultCallTimeout = defaultCallTimeout

const (
	defaultCallTimeout    = 30 * time.Second
	defaultMaxRetryDelay  = 5 * time.Minute
	defaultRateLimitDelay = 30 * time.Second
	minRetryDelay         = time.Second
	maxResponseBytes      = 4 << 20
	userAgent             = "riposte (+https://github.com/riposte-dev/riposte)"
)

func (e *Env) callTimeout() time.Duration {
	if e.CallTimeout > 0 {
		return e.CallTimeout
	}
	return defaultCallTimeout
}

func (e *Env) maxRetryDelay() time.Duration {
	if e.MaxRetryDelay > 0 {
		return e.MaxRetryDelay
	}
	return defaultMaxRetryDelay
}

func (e *Env) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
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

// httpClient is Env.HTTP that refuses redirects to another origin: the
// connectors attach credentials in custom headers, which Go would forward.
func (e *Env) httpClient() *http.Client {
	base := e.HTTP
	if base == nil {
		base = &http.Client{Timeout: defaultCallTimeout}
	}
	c := *base
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return http.ErrUseLastResponse
		}
		if req.URL.Scheme != via[0].URL.Scheme || req.URL.Host != via[0].URL.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return &c
}

// --- errors ---

// Failure kinds, used as the Temporal ApplicationError type.
const (
	KindRateLimited   = "RateLimited"       // retryable, with NextRetryDelay
	KindUnavailable   = "VendorUnavailable" // 5xx, 408: retryable
	KindNetwork       = "NetworkError"      // transport error, timeout: retryable
	KindAuth          = "AuthFailed"        // 401/403
	KindNotFound      = "NotFound"          // host/user/issue does not exist
	KindRejected      = "VendorRejected"    // other 4xx
	KindVendorError   = "VendorError"       // Failure reported inside a 2xx
	KindInvalidParams = "InvalidParams"
	KindNoConnection  = "NoConnection"
	KindSecret        = "SecretUnavailable"
)

// Failure is a classified connector error. Handlers wrap it with context
// (fmt.Errorf("isolating host %s: %w", ...)); toActivityError turns the
// whole chain into one Temporal ApplicationError at the boundary, because
// Temporal only honours an ApplicationError that is returned unwrapped.
type Failure struct {
	kind      string
	msg       string
	retryable bool
	Delay     time.Duration // NextRetryDelay for a retryable failure (0: Temporal's policy)
}

func (f *Failure) Error() string { return f.msg }

func NewFailure(kind, msg string) *Failure {
	return &Failure{kind: kind, msg: msg, retryable: kind == KindRateLimited || kind == KindUnavailable || kind == KindNetwork}
}

func InvalidParam(format string, args ...any) error {
	return NewFailure(KindInvalidParams, fmt.Sprintf(format, args...))
}

// toActivityError converts a handler error into what Temporal should see,
// with any resolved secret value scrubbed from the message.
func ToActivityError(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	msg := Redact(err.Error(), secrets)
	var f *Failure
	if errors.As(err, &f) {
		if !f.retryable {
			return temporal.NewNonRetryableApplicationError(msg, f.kind, nil)
		}
		return temporal.NewApplicationErrorWithOptions(msg, f.kind, temporal.ApplicationErrorOptions{NextRetryDelay: f.Delay})
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		if ae.NonRetryable() {
			return temporal.NewNonRetryableApplicationError(msg, ae.Type(), nil)
		}
		return temporal.NewApplicationErrorWithOptions(msg, ae.Type(), temporal.ApplicationErrorOptions{NextRetryDelay: ae.NextRetryDelay()})
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return temporal.NewApplicationError(msg, KindNetwork)
	}
	return temporal.NewApplicationError(msg, "ConnectorError")
}

// Redact replaces every known secret value (resolved secrets, fetched
// OAuth tokens) in s, then every credential-shaped value (RedactShapes):
// it is for messages that may quote a vendor's answer.
func Redact(s string, secrets []string) string {
	return RedactShapes(redactKnown(s, secrets))
}

// redactKnown replaces the known secret values only.
func redactKnown(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, redacted)
		}
	}
	return s
}

// RedactValue scrubs the known secret values from an action's output. It
// does not apply RedactShapes: outputs hold ids and digests that may look
// like keys.
func RedactValue(v any, secrets []string) any {
	switch x := v.(type) {
	case string:
		return redactKnown(x, secrets)
	case map[string]any:
		for k, e := range x {
			x[k] = RedactValue(e, secrets)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = RedactValue(e, secrets)
		}
		return x
	}
	return v
}

// --- one connection, for one call ---

// conn is a connection opened for one call: config, resolved secrets (kept
// only to scrub them from errors and outputs) and the vendor's auth.
type Conn struct {
	Env   *Env
	Name  string
	Cfg   Connection
	Type  ConnectionType
	Call  Call
	Label string

	smu     sync.Mutex
	secrets []string
	// Auth adds the vendor's credentials to a request.
	Auth func(ctx context.Context, r *http.Request) error
	// Reauth drops a cached token; the request is retried once.
	Reauth func()
	// TokenHook, when set, sees the headers of each OAuth2 token answer
	// (CrowdStrike's X-CS-Region); an error it returns fails the token
	// fetch and the token is not cached.
	TokenHook func(h http.Header) error
}

// Authenticate obtains the connection's credentials now (an OAuth2 token,
// from the cache or the vendor) instead of on the first request.
func (c *Conn) Authenticate(ctx context.Context) error {
	if c.Auth == nil {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL(), nil)
	if err != nil {
		return NewFailure(KindInvalidParams, fmt.Sprintf("base_url of connection %q: %v", c.Name, err))
	}
	return c.Auth(ctx, req)
}

// connector is a vendor handler with its connection opened.
type VendorFunc func(ctx context.Context, c *Conn) (map[string]any, error)

// Run adapts a VendorFunc to a Handler: it picks a connection of type t,
// converts errors for Temporal and scrubs secrets from the result. label
// names the vendor in messages ("CrowdStrike").
func Run(t ConnectionType, label string, connRequired bool, fn VendorFunc) Handler {
	return func(ctx context.Context, env *Env, call Call) (map[string]any, error) {
		name, cfg, err := pickConnection(env, call, t.Name, connRequired)
		if err != nil {
			return nil, ToActivityError(fmt.Errorf("%s: %w", call.Action, err), nil)
		}
		c := &Conn{Env: env, Name: name, Cfg: cfg, Type: t, Call: call, Label: label}
		out, err := fn(ctx, c)
		if err != nil {
			return nil, ToActivityError(err, c.knownSecrets())
		}
		if out == nil {
			out = map[string]any{}
		}
		out["connection"] = name
		return RedactValue(out, c.knownSecrets()).(map[string]any), nil
	}
}

// where names the connection in messages: `CrowdStrike (connection "cs")`.
func (c *Conn) Where() string { return fmt.Sprintf("%s (connection %q)", c.Label, c.Name) }

// secret resolves a secret field of the connection now.
func (c *Conn) Secret(field string) (string, error) {
	ref, ok := c.Cfg.Secrets[field]
	if !ok || ref.IsZero() {
		return "", NewFailure(KindSecret, fmt.Sprintf("connection %q has no %s; set it in riposte.yaml as {env: NAME} or {file: PATH}", c.Name, field))
	}
	v, err := ref.Resolve()
	if err != nil {
		return "", NewFailure(KindSecret, fmt.Sprintf("connection %q: %s (%s): %v", c.Name, field, ref, err))
	}
	c.AddSecret(v)
	return v, nil
}

// option returns a non-secret field, or its default.
func (c *Conn) Option(field string) string {
	if v := strings.TrimSpace(c.Cfg.Options[field]); v != "" {
		return v
	}
	if f, ok := c.Type.Field(field); ok {
		return f.Default
	}
	return ""
}

// requireOption returns a non-secret field that must be set.
func (c *Conn) RequireOption(field string) (string, error) {
	v := c.Option(field)
	if v == "" {
		return "", NewFailure(KindNoConnection, fmt.Sprintf("connection %q has no %s", c.Name, field))
	}
	return v, nil
}

func (c *Conn) BaseURL() string {
	b := strings.TrimSpace(c.Cfg.BaseURL)
	if b == "" {
		b = c.Type.DefaultBaseURL
	}
	return strings.TrimRight(b, "/")
}

// endpoint joins the base URL (which may carry a path prefix) and an API
// path, plus a query.
func (c *Conn) Endpoint(path string, q url.Values) string {
	u := c.BaseURL() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// request is one HTTP call to a vendor.
type Request struct {
	Method  string
	Path    string // below the base URL
	URL     string // absolute; overrides path (token endpoints)
	Query   url.Values
	Header  http.Header
	JSON    any        // JSON body
	Form    url.Values // form body
	Raw     []byte     // raw body, sent as RawType
	RawType string
	NoAuth  bool
}

type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *Response) OK() bool { return r.Status >= 200 && r.Status < 300 }

// do sends the request. It returns an error only when no HTTP response came
// back (retryable) or the activity was cancelled; callers classify statuses.
// A 401 on an authenticated request drops the cached token and retries once.
func (c *Conn) Do(ctx context.Context, r Request) (*Response, error) {
	var body []byte
	contentType := ""
	switch {
	case r.JSON != nil:
		b, err := json.Marshal(r.JSON)
		if err != nil {
			return nil, fmt.Errorf("encoding request: %w", err)
		}
		body, contentType = b, "application/json"
	case r.Form != nil:
		body, contentType = []byte(r.Form.Encode()), "application/x-www-form-urlencoded"
	case r.Raw != nil:
		body, contentType = r.Raw, r.RawType
	}
	target := r.URL
	if target == "" {
		target = c.Endpoint(r.Path, r.Query)
	}
	client := c.Env.httpClient()
	for attempt := 0; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, c.Env.callTimeout())
		req, err := http.NewRequestWithContext(rctx, r.Method, target, bytes.NewReader(body))
		if err != nil {
			cancel()
			return nil, NewFailure(KindInvalidParams, fmt.Sprintf("building request for %s: %v", c.Where(), sanitizeURLError(err)))
		}
		if body == nil {
			req.Body = http.NoBody
		}
		for k, vs := range r.Header {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		if contentType != "" && req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", contentType)
		}
		if req.Header.Get("Accept") == "" {
			req.Header.Set("Accept", "application/json")
		}
		req.Header.Set("User-Agent", userAgent)
		if key := IdemKey(c.Call); key != "" && !r.NoAuth {
			// Vendors that honour either header dedupe on it; the others
			// ignore it, and it still ties their logs to the step.
			req.Header.Set("X-Request-Id", key)
			req.Header.Set("Idempotency-Key", key)
		}
		if !r.NoAuth && c.Auth != nil {
			if err := c.Auth(rctx, req); err != nil {
				cancel()
				return nil, err
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(rctx.Err(), context.DeadlineExceeded) {
				return nil, NewFailure(KindNetwork, fmt.Sprintf("%s did not answer %s %s within %s", c.Where(), r.Method, stripQuery(target), c.Env.callTimeout()))
			}
			return nil, NewFailure(KindNetwork, fmt.Sprintf("calling %s: %v", c.Where(), sanitizeURLError(err)))
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
		resp.Body.Close()
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, NewFailure(KindNetwork, fmt.Sprintf("reading the answer of %s: %v", c.Where(), sanitizeURLError(err)))
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 && !r.NoAuth && c.Reauth != nil {
			c.Reauth()
			continue
		}
		return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
	}
}

// sanitizeURLError drops the query string from a url.Error: it may carry
// parameters a vendor expects there.
func sanitizeURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Sprintf("%s %s: %v", ue.Op, stripQuery(ue.URL), ue.Err)
	}
	return err.Error()
}

func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// statusError classifies a non-2xx answer. vendorMsg is the vendor's own
// error text (parsed by the caller); notFound, if set, replaces the 404
// message ("host fin-ws-042 not found").
func (c *Conn) StatusError(r *Response, vendorMsg, notFound string) error {
	known := c.knownSecrets()
	if vendorMsg == "" {
		// Known values first: clipping could cut one in half.
		vendorMsg = Snippet([]byte(redactKnown(string(r.Body), known)))
	}
	vendorMsg = Redact(vendorMsg, known)
	detail := fmt.Sprintf("HTTP %d", r.Status)
	if vendorMsg != "" {
		detail += ": " + vendorMsg
	}
	switch {
	case r.Status == http.StatusTooManyRequests:
		d := RetryDelay(r.Header, time.Now(), c.Env.maxRetryDelay())
		f := NewFailure(KindRateLimited, fmt.Sprintf("rate limited by %s (%s); retrying in %s", c.Where(), detail, d))
		f.Delay = d
		return f
	case r.Status == http.StatusUnauthorized:
		return NewFailure(KindAuth, fmt.Sprintf("%s refused the credentials (%s); check the credentials of connection %q", c.Label, detail, c.Name))
	case r.Status == http.StatusForbidden:
		return NewFailure(KindAuth, fmt.Sprintf("%s denied the request (%s); check the credentials of connection %q and the API permissions they grant", c.Label, detail, c.Name))
	case r.Status == http.StatusNotFound:
		if notFound != "" {
			return NewFailure(KindNotFound, fmt.Sprintf("%s in %s", notFound, c.Where()))
		}
		return NewFailure(KindNotFound, fmt.Sprintf("%s: not found (%s)", c.Where(), detail))
	case r.Status == http.StatusRequestTimeout || r.Status >= 500:
		f := NewFailure(KindUnavailable, fmt.Sprintf("%s is unavailable (%s)", c.Where(), detail))
		if d, ok := HeaderDelay(r.Header, time.Now()); ok {
			f.Delay = clampDelay(d, c.Env.maxRetryDelay())
		}
		return f
	case r.Status >= 400:
		return NewFailure(KindRejected, fmt.Sprintf("%s rejected the request (%s)", c.Where(), detail))
	}
	return NewFailure(KindVendorError, fmt.Sprintf("%s answered with unexpected %s", c.Where(), detail))
}

// Snippet is a short single-line excerpt of a body for error messages,
// with credential-shaped values redacted (before clipping, so a clipped
// secret cannot escape its pattern).
func Snippet(b []byte) string {
	s := RedactShapes(strings.TrimSpace(string(b)))
	if s == "" {
		return ""
	}
	if strings.HasPrefix(strings.ToLower(s), "<!doctype html") || strings.HasPrefix(strings.ToLower(s), "<html") {
		return "(HTML page)"
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}

// --- rate limits ---

// retryDelay reads how long a rate-limited caller should wait from the
// headers vendors use, falling back to a default, capped at max.
func RetryDelay(h http.Header, now time.Time, max time.Duration) time.Duration {
	d, ok := HeaderDelay(h, now)
	if !ok {
		d = defaultRateLimitDelay
	}
	return clampDelay(d, max)
}

func clampDelay(d, max time.Duration) time.Duration {
	if d < minRetryDelay {
		d = minRetryDelay
	}
	if d > max {
		d = max
	}
	return d
}

// headerDelay understands Retry-After (seconds or HTTP date),
// X-RateLimit-RetryAfter (CrowdStrike, epoch seconds), X-Rate-Limit-Reset
// (Okta, epoch seconds) and X-RateLimit-Reset (epoch seconds or a time).
func HeaderDelay(h http.Header, now time.Time) (time.Duration, bool) {
	for _, name := range []string{"Retry-After", "X-RateLimit-RetryAfter", "X-Rate-Limit-Reset", "X-RateLimit-Reset"} {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			continue
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			if n > 1e9 { // an epoch timestamp
				return time.Unix(int64(n), 0).Sub(now), true
			}
			if n >= 0 {
				return time.Duration(n * float64(time.Second)), true
			}
			continue
		}
		if t, err := http.ParseTime(v); err == nil {
			return t.Sub(now), true
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t.Sub(now), true
		}
	}
	return 0, false
}

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

// useClientCredentials makes c authenticate with a bearer token from an
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
	ttl := 30 * time.Minute
	if s := strings.Trim(string(tr.ExpiresIn), `"`); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			ttl = time.Duration(n) * time.Second
		}
	}
	return tr.AccessToken, ttl, nil
}

// --- call params ---

func Param(call Call, name string) (any, bool) {
	v, ok := call.Params[name]
	if !ok || v == nil {
		return nil, false
	}
	if s, isStr := v.(string); isStr && strings.TrimSpace(s) == "" {
		return nil, false
	}
	return v, true
}

func RequireString(call Call, name string) (string, error) {
	v, ok := Param(call, name)
	if !ok {
		return "", InvalidParam("%s needs the %s param", call.Action, name)
	}
	s, isStr := v.(string)
	if !isStr {
		return "", InvalidParam("%s: %s must be a string, got %T", call.Action, name, v)
	}
	return strings.TrimSpace(s), nil
}

func OptString(call Call, name, def string) (string, error) {
	if _, ok := Param(call, name); !ok {
		return def, nil
	}
	return RequireString(call, name)
}

func OptInt(call Call, name string, def int) (int, error) {
	v, ok := Param(call, name)
	if !ok {
		return def, nil
	}
	switch n := v.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case float64:
		if n != float64(int(n)) {
			return 0, InvalidParam("%s: %s must be a whole number, got %v", call.Action, name, n)
		}
		return int(n), nil
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			return 0, InvalidParam("%s: %s must be a whole number, got %s", call.Action, name, n)
		}
		return int(i), nil
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil {
			return 0, InvalidParam("%s: %s must be a whole number, got %q", call.Action, name, n)
		}
		return i, nil
	}
	return 0, InvalidParam("%s: %s must be a whole number, got %T", call.Action, name, v)
}

func OptStringList(call Call, name string) ([]string, error) {
	v, ok := Param(call, name)
	if !ok {
		return nil, nil
	}
	switch l := v.(type) {
	case []string:
		return l, nil
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, isStr := e.(string)
			if !isStr {
				return nil, InvalidParam("%s: %s must be a list of strings, found %T", call.Action, name, e)
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		return []string{l}, nil
	}
	return nil, InvalidParam("%s: %s must be a list of strings, got %T", call.Action, name, v)
}

func OptObject(call Call, name string) (map[string]any, error) {
	v, ok := Param(call, name)
	if !ok {
		return nil, nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		return nil, InvalidParam("%s: %s must be an object, got %T", call.Action, name, v)
	}
	return m, nil
}

// validHostname accepts the names EDRs report: letters, digits, dot, dash
// and underscore. It also keeps quotes out of FQL/OData filters.
func ValidHostname(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '-' || s[0] == '.' {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}

func RequireHostname(call Call) (string, error) {
	h, err := RequireString(call, "hostname")
	if err != nil {
		return "", err
	}
	if !ValidHostname(h) {
		return "", InvalidParam("%s: hostname %q is not a valid host name (letters, digits, dots, dashes, underscores)", call.Action, h)
	}
	return h, nil
}

// --- idempotency ---

// idemKey is the call's idempotency key, or one derived from its identity.
func IdemKey(call Call) string {
	if call.IdempotencyKey != "" {
		return call.IdempotencyKey
	}
	if call.WorkflowID != "" {
		return fmt.Sprintf("%s/%s/%d", call.WorkflowID, call.StepID, call.Index)
	}
	return ""
}

// shortHash is the first n hex digits of sha256(s).
func ShortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:])
	if n > len(h) {
		n = len(h)
	}
	return h[:n]
}

// scheduledTime is when the workflow first scheduled this activity (the
// same for every retry), if ctx is an activity context.
func ScheduledTime(ctx context.Context) (time.Time, bool) {
	if !activity.IsActivity(ctx) {
		return time.Time{}, false
	}
	t := activity.GetInfo(ctx).ScheduledTime
	return t, !t.IsZero()
}

// decodeJSON parses a vendor answer, classifying garbage as a vendor error.
func (c *Conn) DecodeJSON(r *Response, v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return NewFailure(KindVendorError, fmt.Sprintf("%s returned an unreadable answer (HTTP %d: %s)", c.Where(), r.Status, Snippet(r.Body)))
	}
	return nil
}

// logAction records a state change (or the decision to skip one).
func (c *Conn) LogAction(msg string, attrs ...any) {
	attrs = append([]any{"action", c.Call.Action, "connection", c.Name, "step", c.Call.StepID, "workflow_id", c.Call.WorkflowID}, attrs...)
	c.Env.logger().Info(msg, attrs...)
}

// AddSecret registers a derived credential (a Basic auth value, a signed
// token) so it is scrubbed from errors and outputs like the secrets
// resolved with Secret.
func (c *Conn) AddSecret(v string) {
	c.smu.Lock()
	defer c.smu.Unlock()
	for _, s := range c.secrets {
		if s == v {
			return
		}
	}
	c.secrets = append(c.secrets, v)
}

// knownSecrets is a snapshot of the values to scrub.
func (c *Conn) knownSecrets() []string {
	c.smu.Lock()
	defer c.smu.Unlock()
	return append([]string(nil), c.secrets...)
}

// memo holds small facts learned from vendors (a discovered cloud),
// per Env, in process only.
type memo struct {
	mu sync.Mutex
	m  map[string]string
}

var memoInit sync.Mutex

func (e *Env) memoMap() *memo {
	memoInit.Lock()
	defer memoInit.Unlock()
	if e.memo == nil {
		e.memo = &memo{m: map[string]string{}}
	}
	return e.memo
}

// Recall returns a fact remembered with Remember.
func (e *Env) Recall(key string) (string, bool) {
	m := e.memoMap()
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[key]
	return v, ok
}

// Remember keeps a fact learned from a vendor for later calls.
func (e *Env) Remember(key, value string) {
	m := e.memoMap()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[key] = value
}

// Kind is the failure's kind (the Temporal error type it becomes).
func (f *Failure) Kind() string { return f.kind }

// Retryable reports whether Temporal may retry the failure.
func (f *Failure) Retryable() bool { return f.retryable }

// NoRetry turns a retryable failure that may have left the vendor changed
// (a transport error or timeout after sending, a 5xx, 408) into a
// non-retryable one of type errType, its message followed by why. Rate
// limits (429: not processed) and other errors pass through.
func NoRetry(err error, errType, why string) error {
	var f *Failure
	if !errors.As(err, &f) || !f.retryable || f.kind == KindRateLimited {
		return err
	}
	return &noRetry{err: err, kind: errType, why: why}
}

type noRetry struct {
	err       error
	kind, why string
}

func (n *noRetry) Error() string { return n.err.Error() + "; " + n.why }

// Unwrap exposes a Failure of its own kind, non-retryable.
func (n *noRetry) Unwrap() error { return &Failure{kind: n.kind, msg: n.Error()} }
