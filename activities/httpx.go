package activities

// Shared plumbing of the vendor connectors: one HTTP path with timeouts,
// auth, idempotency headers, rate-limit handling and error classification,
// so each vendor file holds only what is specific to its API.

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
	kindRateLimited   = "RateLimited"       // retryable, with NextRetryDelay
	kindUnavailable   = "VendorUnavailable" // 5xx, 408: retryable
	kindNetwork       = "NetworkError"      // transport error, timeout: retryable
	kindAuth          = "AuthFailed"        // 401/403
	kindNotFound      = "NotFound"          // host/user/issue does not exist
	kindRejected      = "VendorRejected"    // other 4xx
	kindVendorError   = "VendorError"       // failure reported inside a 2xx
	kindInvalidParams = "InvalidParams"
	kindNoConnection  = "NoConnection"
	kindSecret        = "SecretUnavailable"
)

// failure is a classified connector error. Handlers wrap it with context
// (fmt.Errorf("isolating host %s: %w", ...)); toActivityError turns the
// whole chain into one Temporal ApplicationError at the boundary, because
// Temporal only honours an ApplicationError that is returned unwrapped.
type failure struct {
	kind      string
	msg       string
	retryable bool
	delay     time.Duration
}

func (f *failure) Error() string { return f.msg }

func newFailure(kind, msg string) *failure {
	return &failure{kind: kind, msg: msg, retryable: kind == kindRateLimited || kind == kindUnavailable || kind == kindNetwork}
}

func invalidParam(format string, args ...any) error {
	return newFailure(kindInvalidParams, fmt.Sprintf(format, args...))
}

// toActivityError converts a handler error into what Temporal should see,
// with any resolved secret value scrubbed from the message.
func toActivityError(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	msg := redact(err.Error(), secrets)
	var f *failure
	if errors.As(err, &f) {
		if !f.retryable {
			return temporal.NewNonRetryableApplicationError(msg, f.kind, nil)
		}
		return temporal.NewApplicationErrorWithOptions(msg, f.kind, temporal.ApplicationErrorOptions{NextRetryDelay: f.delay})
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		if ae.NonRetryable() {
			return temporal.NewNonRetryableApplicationError(msg, ae.Type(), nil)
		}
		return temporal.NewApplicationErrorWithOptions(msg, ae.Type(), temporal.ApplicationErrorOptions{NextRetryDelay: ae.NextRetryDelay()})
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return temporal.NewApplicationError(msg, kindNetwork)
	}
	return temporal.NewApplicationError(msg, "ConnectorError")
}

// redact replaces every resolved secret value in s.
func redact(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[REDACTED]")
		}
	}
	return s
}

func redactValue(v any, secrets []string) any {
	switch x := v.(type) {
	case string:
		return redact(x, secrets)
	case map[string]any:
		for k, e := range x {
			x[k] = redactValue(e, secrets)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = redactValue(e, secrets)
		}
		return x
	}
	return v
}

// --- one connection, for one call ---

// conn is a connection opened for one call: config, resolved secrets (kept
// only to scrub them from errors and outputs) and the vendor's auth.
type conn struct {
	env   *Env
	name  string
	cfg   Connection
	typ   ConnectionType
	call  Call
	label string

	secrets []string
	auth    func(ctx context.Context, r *http.Request) error
	reauth  func() // drops a cached token; the request is retried once
}

// connector is a vendor handler with its connection opened.
type connector func(ctx context.Context, c *conn) (map[string]any, error)

// vendorRun adapts a connector to a Handler: it picks the connection,
// converts errors for Temporal and scrubs secrets from the result.
func vendorRun(typ, label string, connRequired bool, fn connector) Handler {
	return func(ctx context.Context, env *Env, call Call) (map[string]any, error) {
		name, cfg, err := pickConnection(env, call, typ, connRequired)
		if err != nil {
			return nil, toActivityError(fmt.Errorf("%s: %w", call.Action, err), nil)
		}
		t, _ := LookupConnectionType(typ)
		c := &conn{env: env, name: name, cfg: cfg, typ: t, call: call, label: label}
		out, err := fn(ctx, c)
		if err != nil {
			return nil, toActivityError(err, c.secrets)
		}
		if out == nil {
			out = map[string]any{}
		}
		out["connection"] = name
		return redactValue(out, c.secrets).(map[string]any), nil
	}
}

// where names the connection in messages: `CrowdStrike (connection "cs")`.
func (c *conn) where() string { return fmt.Sprintf("%s (connection %q)", c.label, c.name) }

// secret resolves a secret field of the connection now.
func (c *conn) secret(field string) (string, error) {
	ref, ok := c.cfg.Secrets[field]
	if !ok || ref.IsZero() {
		return "", newFailure(kindSecret, fmt.Sprintf("connection %q has no %s; set it in riposte.yaml as {env: NAME} or {file: PATH}", c.name, field))
	}
	v, err := ref.Resolve()
	if err != nil {
		return "", newFailure(kindSecret, fmt.Sprintf("connection %q: %s (%s): %v", c.name, field, ref, err))
	}
	c.secrets = append(c.secrets, v)
	return v, nil
}

// option returns a non-secret field, or its default.
func (c *conn) option(field string) string {
	if v := strings.TrimSpace(c.cfg.Options[field]); v != "" {
		return v
	}
	if f, ok := c.typ.Field(field); ok {
		return f.Default
	}
	return ""
}

// requireOption returns a non-secret field that must be set.
func (c *conn) requireOption(field string) (string, error) {
	v := c.option(field)
	if v == "" {
		return "", newFailure(kindNoConnection, fmt.Sprintf("connection %q has no %s", c.name, field))
	}
	return v, nil
}

func (c *conn) baseURL() string {
	b := strings.TrimSpace(c.cfg.BaseURL)
	if b == "" {
		b = c.typ.DefaultBaseURL
	}
	return strings.TrimRight(b, "/")
}

// endpoint joins the base URL (which may carry a path prefix) and an API
// path, plus a query.
func (c *conn) endpoint(path string, q url.Values) string {
	u := c.baseURL() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// request is one HTTP call to a vendor.
type request struct {
	method  string
	path    string // below the base URL
	url     string // absolute; overrides path (token endpoints)
	query   url.Values
	header  http.Header
	json    any        // JSON body
	form    url.Values // form body
	raw     []byte     // raw body, sent as rawType
	rawType string
	noAuth  bool
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) ok() bool { return r.status >= 200 && r.status < 300 }

// do sends the request. It returns an error only when no HTTP response came
// back (retryable) or the activity was cancelled; callers classify statuses.
// A 401 on an authenticated request drops the cached token and retries once.
func (c *conn) do(ctx context.Context, r request) (*response, error) {
	var body []byte
	contentType := ""
	switch {
	case r.json != nil:
		b, err := json.Marshal(r.json)
		if err != nil {
			return nil, fmt.Errorf("encoding request: %w", err)
		}
		body, contentType = b, "application/json"
	case r.form != nil:
		body, contentType = []byte(r.form.Encode()), "application/x-www-form-urlencoded"
	case r.raw != nil:
		body, contentType = r.raw, r.rawType
	}
	target := r.url
	if target == "" {
		target = c.endpoint(r.path, r.query)
	}
	client := c.env.httpClient()
	for attempt := 0; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, c.env.callTimeout())
		req, err := http.NewRequestWithContext(rctx, r.method, target, bytes.NewReader(body))
		if err != nil {
			cancel()
			return nil, newFailure(kindInvalidParams, fmt.Sprintf("building request for %s: %v", c.where(), sanitizeURLError(err)))
		}
		if body == nil {
			req.Body = http.NoBody
		}
		for k, vs := range r.header {
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
		if key := idemKey(c.call); key != "" && !r.noAuth {
			// Vendors that honour either header dedupe on it; the others
			// ignore it, and it still ties their logs to the step.
			req.Header.Set("X-Request-Id", key)
			req.Header.Set("Idempotency-Key", key)
		}
		if !r.noAuth && c.auth != nil {
			if err := c.auth(rctx, req); err != nil {
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
				return nil, newFailure(kindNetwork, fmt.Sprintf("%s did not answer %s %s within %s", c.where(), r.method, stripQuery(target), c.env.callTimeout()))
			}
			return nil, newFailure(kindNetwork, fmt.Sprintf("calling %s: %v", c.where(), sanitizeURLError(err)))
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
		resp.Body.Close()
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, newFailure(kindNetwork, fmt.Sprintf("reading the answer of %s: %v", c.where(), sanitizeURLError(err)))
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 && !r.noAuth && c.reauth != nil {
			c.reauth()
			continue
		}
		return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
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
func (c *conn) statusError(r *response, vendorMsg, notFound string) error {
	if vendorMsg == "" {
		vendorMsg = snippet(r.body)
	}
	detail := fmt.Sprintf("HTTP %d", r.status)
	if vendorMsg != "" {
		detail += ": " + vendorMsg
	}
	switch {
	case r.status == http.StatusTooManyRequests:
		d := retryDelay(r.header, time.Now(), c.env.maxRetryDelay())
		f := newFailure(kindRateLimited, fmt.Sprintf("rate limited by %s (%s); retrying in %s", c.where(), detail, d))
		f.delay = d
		return f
	case r.status == http.StatusUnauthorized:
		return newFailure(kindAuth, fmt.Sprintf("%s refused the credentials (%s); check the credentials of connection %q", c.label, detail, c.name))
	case r.status == http.StatusForbidden:
		return newFailure(kindAuth, fmt.Sprintf("%s denied the request (%s); check the credentials of connection %q and the API permissions they grant", c.label, detail, c.name))
	case r.status == http.StatusNotFound:
		if notFound != "" {
			return newFailure(kindNotFound, fmt.Sprintf("%s in %s", notFound, c.where()))
		}
		return newFailure(kindNotFound, fmt.Sprintf("%s: not found (%s)", c.where(), detail))
	case r.status == http.StatusRequestTimeout || r.status >= 500:
		f := newFailure(kindUnavailable, fmt.Sprintf("%s is unavailable (%s)", c.where(), detail))
		if d, ok := headerDelay(r.header, time.Now()); ok {
			f.delay = clampDelay(d, c.env.maxRetryDelay())
		}
		return f
	case r.status >= 400:
		return newFailure(kindRejected, fmt.Sprintf("%s rejected the request (%s)", c.where(), detail))
	}
	return newFailure(kindVendorError, fmt.Sprintf("%s answered with unexpected %s", c.where(), detail))
}

// snippet is a short single-line excerpt of a body for error messages.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
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
func retryDelay(h http.Header, now time.Time, max time.Duration) time.Duration {
	d, ok := headerDelay(h, now)
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
func headerDelay(h http.Header, now time.Time) (time.Duration, bool) {
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
func (c *conn) useClientCredentials(tokenURL string, form url.Values) {
	form.Set("grant_type", "client_credentials")
	sum := sha256.Sum256([]byte(form.Encode()))
	key := c.name + "\x00" + tokenURL + "\x00" + hex.EncodeToString(sum[:])
	cache := c.env.tokenCache()
	c.reauth = func() { cache.drop(key) }
	c.auth = func(ctx context.Context, req *http.Request) error {
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
		req.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
}

func (c *conn) fetchToken(ctx context.Context, tokenURL string, form url.Values) (string, time.Duration, error) {
	resp, err := c.do(ctx, request{method: http.MethodPost, url: tokenURL, form: form, noAuth: true})
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
	_ = json.Unmarshal(resp.body, &tr)
	if !resp.ok() {
		msg := tr.Description
		if msg == "" {
			msg = tr.Error
		}
		if msg == "" && len(tr.Errors) > 0 {
			msg = tr.Errors[0].Message
		}
		if resp.status == http.StatusBadRequest || resp.status == http.StatusUnauthorized || resp.status == http.StatusForbidden {
			if msg == "" {
				msg = snippet(resp.body)
			}
			return "", 0, newFailure(kindAuth, fmt.Sprintf("%s refused the client credentials (HTTP %d: %s); check the credentials of connection %q", c.label, resp.status, msg, c.name))
		}
		return "", 0, fmt.Errorf("getting an access token: %w", c.statusError(resp, msg, ""))
	}
	if tr.AccessToken == "" {
		return "", 0, newFailure(kindVendorError, fmt.Sprintf("%s returned no access_token", c.where()))
	}
	ttl := 30 * time.Minute
	if s := strings.Trim(string(tr.ExpiresIn), `"`); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			ttl = time.Duration(n) * time.Second
		}
	}
	return tr.AccessToken, ttl, nil
}

// --- call params ---

func param(call Call, name string) (any, bool) {
	v, ok := call.Params[name]
	if !ok || v == nil {
		return nil, false
	}
	if s, isStr := v.(string); isStr && strings.TrimSpace(s) == "" {
		return nil, false
	}
	return v, true
}

func requireString(call Call, name string) (string, error) {
	v, ok := param(call, name)
	if !ok {
		return "", invalidParam("%s needs the %s param", call.Action, name)
	}
	s, isStr := v.(string)
	if !isStr {
		return "", invalidParam("%s: %s must be a string, got %T", call.Action, name, v)
	}
	return strings.TrimSpace(s), nil
}

func optString(call Call, name, def string) (string, error) {
	if _, ok := param(call, name); !ok {
		return def, nil
	}
	return requireString(call, name)
}

func optInt(call Call, name string, def int) (int, error) {
	v, ok := param(call, name)
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
			return 0, invalidParam("%s: %s must be a whole number, got %v", call.Action, name, n)
		}
		return int(n), nil
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			return 0, invalidParam("%s: %s must be a whole number, got %s", call.Action, name, n)
		}
		return int(i), nil
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil {
			return 0, invalidParam("%s: %s must be a whole number, got %q", call.Action, name, n)
		}
		return i, nil
	}
	return 0, invalidParam("%s: %s must be a whole number, got %T", call.Action, name, v)
}

func optStringList(call Call, name string) ([]string, error) {
	v, ok := param(call, name)
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
				return nil, invalidParam("%s: %s must be a list of strings, found %T", call.Action, name, e)
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		return []string{l}, nil
	}
	return nil, invalidParam("%s: %s must be a list of strings, got %T", call.Action, name, v)
}

func optObject(call Call, name string) (map[string]any, error) {
	v, ok := param(call, name)
	if !ok {
		return nil, nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		return nil, invalidParam("%s: %s must be an object, got %T", call.Action, name, v)
	}
	return m, nil
}

// validHostname accepts the names EDRs report: letters, digits, dot, dash
// and underscore. It also keeps quotes out of FQL/OData filters.
func validHostname(s string) bool {
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

func requireHostname(call Call) (string, error) {
	h, err := requireString(call, "hostname")
	if err != nil {
		return "", err
	}
	if !validHostname(h) {
		return "", invalidParam("%s: hostname %q is not a valid host name (letters, digits, dots, dashes, underscores)", call.Action, h)
	}
	return h, nil
}

// --- idempotency ---

// idemKey is the call's idempotency key, or one derived from its identity.
func idemKey(call Call) string {
	if call.IdempotencyKey != "" {
		return call.IdempotencyKey
	}
	if call.WorkflowID != "" {
		return fmt.Sprintf("%s/%s/%d", call.WorkflowID, call.StepID, call.Index)
	}
	return ""
}

// shortHash is the first n hex digits of sha256(s).
func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:])
	if n > len(h) {
		n = len(h)
	}
	return h[:n]
}

// scheduledTime is when the workflow first scheduled this activity (the
// same for every retry), if ctx is an activity context.
func scheduledTime(ctx context.Context) (time.Time, bool) {
	if !activity.IsActivity(ctx) {
		return time.Time{}, false
	}
	t := activity.GetInfo(ctx).ScheduledTime
	return t, !t.IsZero()
}

// decodeJSON parses a vendor answer, classifying garbage as a vendor error.
func (c *conn) decodeJSON(r *response, v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return newFailure(kindVendorError, fmt.Sprintf("%s returned an unreadable answer (HTTP %d: %s)", c.where(), r.status, snippet(r.body)))
	}
	return nil
}

// logAction records a state change (or the decision to skip one).
func (c *conn) logAction(msg string, attrs ...any) {
	attrs = append([]any{"action", c.call.Action, "connection", c.name, "step", c.call.StepID, "workflow_id", c.call.WorkflowID}, attrs...)
	c.env.logger().Info(msg, attrs...)
}
