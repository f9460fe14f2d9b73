// Package connector is the shared plumbing of the vendor connectors
// (activities/<vendor>/): connection types and secrets, one HTTP path with
// timeouts, auth, idempotency headers, rate-limit handling, error
// classification and redaction, OAuth2 client credentials and call
// params, so each vendor folder holds only what is specific to its API.
package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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

// httpClient is Env.HTTP that follows a redirect only below within: the
// same scheme and host, and a path at or below within's path. The
// connectors attach credentials in headers, which Go forwards on a
// redirect to the same host: a redirect out of a connection's base URL
// (another API behind the same gateway origin) would carry them there.
// A 301 or 302 to a POST, PUT, PATCH or DELETE is not followed either:
// Go would follow it as a GET without the body, so the vendor's action
// (not carried out: the resource is elsewhere) would become a read of
// another page, whose 200 would be taken for the action's answer. A 303
// (the request was processed; its result is there) and a 307 or 308
// (same method and body) are followed (RFC 9110 15.4). A refused redirect
// is answered as the 3xx it is.
func (e *Env) httpClient(within *url.URL) *http.Client {
	base := e.HTTP
	if base == nil {
		base = &http.Client{Timeout: defaultCallTimeout}
	}
	c := *base
	if c.Transport == nil {
		c.Transport = e.transport
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 || !below(req.URL, within) || methodDropped(req, via) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return &c
}

// methodDropped reports whether following req (a redirect) would send a
// GET in place of the original request's method because of a 301 or 302.
func methodDropped(req *http.Request, via []*http.Request) bool {
	if req.Method == via[0].Method {
		return false
	}
	return req.Response == nil || req.Response.StatusCode != http.StatusSeeOther
}

// below reports whether u is within: same scheme and host, and a path
// equal to within's or under it, that cannot climb out of it on a server
// that decodes it again (ClimbsOut).
func below(u, within *url.URL) bool {
	if !strings.EqualFold(u.Scheme, within.Scheme) || !strings.EqualFold(u.Host, within.Host) {
		return false
	}
	if ClimbsOut(u.Path) {
		return false
	}
	prefix := strings.TrimRight(within.Path, "/")
	return prefix == "" || u.Path == prefix || strings.HasPrefix(u.Path, prefix+"/")
}

// Request is one HTTP call to a vendor.
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
	// Cut: the answer was longer than maxResponseBytes; Body holds its
	// beginning only.
	Cut bool
}

func (r *Response) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Do sends the request. It returns an error only when no HTTP response came
// back (retryable) or the activity was cancelled; callers classify statuses.
// A 401 on a request authenticated with a cached token (OAuth2) drops
// the token and retries once with a fresh one; a 403 drops it too (it may
// lack a permission granted since), without sending the request again.
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
	// Redirects stay below the connection's base URL; an absolute URL
	// (a token endpoint) stays on its own origin.
	within, err := url.Parse(target)
	if err != nil {
		return nil, NewFailure(KindInvalidParams, fmt.Sprintf("building request for %s: %v", c.Where(), sanitizeURLError(err)))
	}
	if r.URL == "" {
		if b, err := url.Parse(c.BaseURL()); err == nil {
			within = b
		}
	} else {
		within = &url.URL{Scheme: within.Scheme, Host: within.Host}
	}
	client := c.Env.httpClient(within)
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
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
		resp.Body.Close()
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, NewFailure(KindNetwork, fmt.Sprintf("reading the answer of %s: %v", c.Where(), sanitizeURLError(err)))
		}
		if resp.StatusCode == http.StatusForbidden && !r.NoAuth && c.Reauth != nil {
			// An app-only token carries the roles consented when it was
			// issued, and the API authorizes on them: a token cached
			// before the permission was granted would keep failing after
			// the fix, for as long as it lives. Drop it, so the next try
			// gets a fresh one; the refused request is not sent again.
			c.Reauth()
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 && !r.NoAuth && c.Reauth != nil {
			c.Reauth()
			continue
		}
		cut := len(b) > maxResponseBytes
		if cut {
			b = b[:maxResponseBytes]
		}
		return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b, Cut: cut}, nil
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

// StatusError classifies a non-2xx answer. vendorMsg is the vendor's own
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
		// Only Retry-After: the rate-limit headers describe the quota
		// window, and Okta sends X-Rate-Limit-Reset on every answer.
		if d, ok := headerDelay(r.Header, time.Now(), "Retry-After"); ok {
			f.Delay = clampDelay(d, c.Env.maxRetryDelay())
		}
		return f
	case r.Status >= 400:
		return NewFailure(KindRejected, fmt.Sprintf("%s rejected the request (%s)", c.Where(), detail))
	}
	if r.Status >= 300 && r.Status < 400 {
		if loc := r.Header.Get("Location"); loc != "" {
			// A redirect not followed (out of base_url, or one that would
			// turn the request into a GET): the usual cause is a base_url
			// that is not the API's (a web app's sign-in page).
			return NewFailure(KindVendorError, fmt.Sprintf("%s answered %s, a redirect to %s that was not followed; check base_url of connection %q", c.Where(), detail, Redact(stripQuery(loc), known), c.Name))
		}
	}
	return NewFailure(KindVendorError, fmt.Sprintf("%s answered with unexpected %s", c.Where(), detail))
}

// Snippet is a short single-line excerpt of a body for error messages,
// with credential-shaped values redacted (before clipping, so a clipped
// secret cannot escape its pattern).
func Snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > snippetScan {
		// Only the beginning can show in 300 characters: redacting a
		// whole 4 MiB answer took seconds of CPU per error. The cut backs
		// off to the last whitespace, so no credential is cut in half
		// (and so out of its pattern); without any, nothing is quoted.
		s = s[:snippetScan]
		if i := strings.LastIndexAny(s, " \t\r\n"); i >= 0 {
			s = s[:i]
		} else {
			s = ""
		}
		// A quoted value may hold spaces (a passphrase): cut inside one,
		// it no longer has the closing quote its pattern needs. A
		// secret's value still open at the cut is redacted here.
		if m := secretKeyOpenValue.FindStringSubmatchIndex(s); m != nil {
			q := 1 // the opening quote kept: " or ', or \" (escaped JSON)
			if s[m[2]] == '\\' {
				q = 2
			}
			s = s[:m[2]+q] + redacted
		}
		// So may the text of an XML element named as a secret key or
		// of a secret XML pair's value: RedactShapes hides such a text
		// still open at the end, in each of its forms.
	}
	// Bytes that are not UTF-8 (a Latin-1 page) become U+FFFD before
	// clipping, which backs off to valid UTF-8 and would otherwise drop
	// everything after the first of them.
	s = strings.ToValidUTF8(RedactShapes(s), "\uFFFD")
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

// snippetScan bounds the part of an answer Snippet reads.
const snippetScan = 64 << 10

// --- rate limits ---

// RetryDelay reads how long a rate-limited caller should wait from the
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

// HeaderDelay understands Retry-After (seconds or HTTP date),
// X-RateLimit-RetryAfter (CrowdStrike, epoch seconds), X-Rate-Limit-Reset
// (Okta, epoch seconds) and X-RateLimit-Reset (epoch seconds or a time).
// Instants are measured from the answer's Date header when it has one
// (the vendor's clock), else from now.
func HeaderDelay(h http.Header, now time.Time) (time.Duration, bool) {
	return headerDelay(h, now, "Retry-After", "X-RateLimit-RetryAfter", "X-Rate-Limit-Reset", "X-RateLimit-Reset")
}

// decimalRe is a plain decimal number, the only number rate-limit headers
// carry.
var decimalRe = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// rateLimitTimeLayouts are the timestamps rate-limit headers carry besides
// epoch seconds: RFC 3339, and Jira's ISO 8601 to the minute
// (yyyy-MM-ddTHH:mmZ, "Rate limiting" in its REST docs).
var rateLimitTimeLayouts = []string{time.RFC3339, "2006-01-02T15:04Z07:00"}

func headerDelay(h http.Header, now time.Time, names ...string) (time.Duration, bool) {
	// An instant in these headers is on the vendor's clock: measure it
	// from the answer's Date (as okta-sdk-golang does), so a worker whose
	// clock is off neither retries every second nor waits out the cap.
	if t, err := http.ParseTime(strings.TrimSpace(h.Get("Date"))); err == nil {
		now = t
	}
	for _, name := range names {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			continue
		}
		// Digits only (delay-seconds, epoch seconds, with an optional
		// fraction): ParseFloat also takes "Infinity" and hex floats.
		if n, err := strconv.ParseFloat(v, 64); err == nil && decimalRe.MatchString(v) {
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
		for _, layout := range rateLimitTimeLayouts {
			if t, err := time.Parse(layout, v); err == nil {
				return t.Sub(now), true
			}
		}
	}
	return 0, false
}

// DecodeJSON parses a vendor answer, classifying garbage as a vendor error.
func (c *Conn) DecodeJSON(r *Response, v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return c.Unreadable(r)
	}
	return nil
}

// Unreadable is the vendor error of an answer that does not parse (JSON,
// XML), quoting a redacted snippet of it.
func (c *Conn) Unreadable(r *Response) error {
	if r.Cut {
		return NewFailure(KindVendorError, fmt.Sprintf("%s answered more than %d MiB (HTTP %d), more than Riposte reads; the answer was not used", c.Where(), maxResponseBytes>>20, r.Status))
	}
	return NewFailure(KindVendorError, fmt.Sprintf("%s returned an unreadable answer (HTTP %d: %s)", c.Where(), r.Status, Snippet(r.Body)))
}

// ClimbsOut reports whether a decoded URL path may leave the directory it
// names on some server: a "." or ".." segment, also with a path parameter
// (Tomcat and other servlet containers read "..;x" as ".."), a backslash
// (a separator to IIS and others), or an escape still present after one
// decoding of a dot, slash or backslash (a server that decodes twice).
func ClimbsOut(decoded string) bool {
	if strings.Contains(decoded, "\\") {
		return true
	}
	lower := strings.ToLower(decoded)
	if strings.Contains(lower, "%2e") || strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") {
		return true
	}
	for _, seg := range strings.Split(decoded, "/") {
		if i := strings.IndexByte(seg, ';'); i >= 0 {
			seg = seg[:i]
		}
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
