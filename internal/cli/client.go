package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/config"
)

// apiClient talks to a Riposte API (riposte dev or serve).
type apiClient struct {
	base  string
	token string
	// tokenFrom says where the token came from, for the hint on a 401.
	tokenFrom string
	http      *http.Client
	// prefer, when set, is sent as the Prefer header (RFC 7240).
	prefer string
	// baseErr, when set, says why base is not an API URL (a usage error).
	baseErr error
}

// insecureHTTPEnv is --insecure-http's environment variable.
const insecureHTTPEnv = "RIPOSTE_INSECURE_HTTP"

// apiFlags are the flags every API client command shares.
type apiFlags struct {
	API     string
	Token   string
	DataDir string
	Timeout time.Duration
	// InsecureHTTP allows sending the token over http:// to a host that
	// is not loopback.
	InsecureHTTP bool
	// envErr says why an environment variable of these flags is unusable.
	envErr error
}

func (f *apiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.API, "api", config.Env("RIPOSTE_API_URL", "http://127.0.0.1:8080"), "Riposte API URL (env RIPOSTE_API_URL)")
	fs.StringVar(&f.Token, "token", "", "API token (default: env RIPOSTE_API_TOKEN, then the dev token in --data-dir)")
	fs.StringVar(&f.DataDir, "data-dir", config.Env("RIPOSTE_DATA_DIR", ".riposte"), "riposte dev data dir, to find its API token")
	fs.DurationVar(&f.Timeout, "timeout", 60*time.Second, "how long to wait for the API's answer to each request")
	insecure, err := config.EnvBool(insecureHTTPEnv)
	if err != nil {
		f.envErr = fmt.Errorf("%s=%q: want true or false (or --insecure-http)", insecureHTTPEnv, os.Getenv(insecureHTTPEnv))
	}
	fs.BoolVar(&f.InsecureHTTP, "insecure-http", insecure, "send the API token over plain http:// to a host that is not loopback (only where the path is protected otherwise, e.g. a service mesh's mTLS) (env "+insecureHTTPEnv+")")
}

// asUserFlags starts the flags of a command that acts through the API as
// someone: the API flags, and --as (default: env RIPOSTE_USER) with its help.
// --as is optional: the API acts as the token's identity and refuses (403)
// an --as that names someone else, so it only guards against using the
// wrong token.
func asUserFlags(name, usage string, s Streams, asHelp string) (*flag.FlagSet, *apiFlags, *string) {
	f := &apiFlags{}
	fs := newFlagSet(name, usage, s)
	f.register(fs)
	return fs, f, fs.String("as", config.Env("RIPOSTE_USER", ""), asHelp+"; optional: the API acts as the token's identity and refuses an --as that is someone else (env RIPOSTE_USER)")
}

func (f *apiFlags) client() *apiClient {
	c := &apiClient{
		base:  strings.TrimRight(f.API, "/"),
		token: config.ReadToken(f.Token, f.DataDir),
		http:  &http.Client{Timeout: f.Timeout},
	}
	if f.envErr != nil && !f.InsecureHTTP {
		c.baseErr = &exitError{code: 2, err: f.envErr}
	} else if f.Timeout <= 0 {
		c.baseErr = &exitError{code: 2, err: fmt.Errorf("--timeout %s: want a positive duration such as 60s", f.Timeout)}
	} else if u, err := url.Parse(f.API); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// riposte dev's --http takes host:port; the API URL needs the
		// scheme, or Go's URL parser and transport say it their way.
		c.baseErr = &exitError{code: 2, err: fmt.Errorf("--api (or RIPOSTE_API_URL) %q is not an http(s) URL; use e.g. http://127.0.0.1:8080 (riposte dev's --http address) or https://riposte.example.com", f.API)}
	} else if c.token != "" && u.Scheme == "http" && !loopbackHost(u.Hostname()) && !f.InsecureHTTP {
		// RFC 6750 5.3: a bearer token only over TLS. Whoever reads a
		// personal token on the wire decides gates as its person.
		c.baseErr = &exitError{code: 2, err: fmt.Errorf("not sending the API token in clear to %s (http:// to a host that is not loopback): use https:// (TLS in front of riposte serve), or --insecure-http when the path is protected otherwise (a service mesh's mTLS)", u.Host)}
	}
	c.http.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Scheme == "http" && !loopbackHost(req.URL.Hostname()) && !f.InsecureHTTP && c.token != "" {
			return &clearRedirectError{to: req.URL.Redacted()}
		}
		return nil
	}
	switch {
	case f.Token != "":
		c.tokenFrom = "--token"
	case strings.TrimSpace(os.Getenv(config.TokenEnv)) != "":
		c.tokenFrom = config.TokenEnv
	case c.token != "":
		c.tokenFrom = filepath.Join(f.DataDir, config.TokenFile)
	default:
		c.tokenFrom = "none: no --token, no " + config.TokenEnv + ", no " + filepath.Join(f.DataDir, config.TokenFile)
	}
	return c
}

// authHint says what to do after a 401: where the token came from and the
// three ways to give one.
func (c *apiClient) authHint() string {
	return fmt.Sprintf("the API at %s refused the token (token used: %s). Pass --token TOKEN, set %s, or run from the directory that holds %s (riposte dev writes it there; --data-dir DIR points elsewhere)",
		c.base, c.tokenFrom, config.TokenEnv, filepath.Join(".riposte", config.TokenFile))
}

// problemError is an API error response.
type problemError struct {
	Status int
	Title  string
	Detail string
	// Hint says what to do next (not part of the problem JSON).
	Hint string `json:"-"`
	// RetryAfter is the response's Retry-After (seconds or an HTTP date),
	// zero when it has none.
	RetryAfter time.Duration `json:"-"`
	Errors     []struct {
		Index   int    `json:"index"`
		Path    string `json:"path"`
		Message string `json:"message"`
	}
}

func (p *problemError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", p.Status, p.Title)
	if p.Detail != "" {
		fmt.Fprintf(&b, ": %s", p.Detail)
	}
	for _, e := range p.Errors {
		path := e.Path
		if path == "" {
			path = "(detection)"
		}
		fmt.Fprintf(&b, "\n  detection %d: %s: %s", e.Index, path, e.Message)
	}
	if p.Hint != "" {
		fmt.Fprintf(&b, "\n  %s", p.Hint)
	}
	return b.String()
}

// do sends a request and decodes a JSON answer into out. status receives
// the HTTP status when non-nil.
func (c *apiClient) do(ctx context.Context, method, path string, body []byte, contentType string, out any, status *int) error {
	if c.baseErr != nil {
		return c.baseErr
	}
	if ctx.Err() != nil {
		return &exitError{code: 130, err: fmt.Errorf("interrupted before sending %s %s: not sent", method, strings.SplitN(path, "?", 2)[0])}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.prefer != "" {
		req.Header.Set("Prefer", c.prefer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// Sent but not answered: the API may have carried it out.
		sent := ""
		if method != http.MethodGet {
			sent = "it may have carried the request out (riposte runs show RUN, runs list say what it did; a detection resent is deduplicated)"
		}
		if ctx.Err() != nil {
			return &exitError{code: 130, err: fmt.Errorf("interrupted before the API at %s answered %s %s%s", c.base, method, strings.SplitN(path, "?", 2)[0], prefixed("; ", sent))}
		}
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			if sent != "" {
				sent = "; it may still carry the request out (riposte runs show RUN, runs list say what it did; a detection resent is deduplicated)"
			}
			return fmt.Errorf("the API at %s did not answer %s %s within %s (--timeout)%s: %w", c.base, method, strings.SplitN(path, "?", 2)[0], c.http.Timeout, sent, err)
		}
		if settingsError(err) {
			// Reached, but refused by this client: the API runs; a
			// setting is wrong.
			return fmt.Errorf("calling the Riposte API at %s: %w", c.base, err)
		}
		return fmt.Errorf("calling the Riposte API at %s: %w (is it running? start it with riposte dev, or point --api / RIPOSTE_API_URL at your server)", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading API response: %w", err)
	}
	if status != nil {
		*status = resp.StatusCode
	}
	if resp.StatusCode >= 300 {
		p := &problemError{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
		if json.Unmarshal(data, p) != nil || p.Title == "" {
			p.Title = http.StatusText(resp.StatusCode)
			p.Detail = strings.TrimSpace(string(data))
			if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/html" || len(p.Detail) > 512 {
				// A proxy's error page or another service: say what
				// answered, not kilobytes of its markup.
				p.Detail = c.notAPI(resp, data)
			}
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized:
			p.Hint = c.authHint()
		case resp.StatusCode == http.StatusNotFound && strings.HasPrefix(path, "/v1/runs/"):
			p.Hint = "check the workflow id: `riposte runs list` shows recent runs (a rollback run's id is rollback:<run>)"
		}
		return p
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" && mt != "application/problem+json" {
				return errors.New(c.notAPI(resp, data))
			}
			return fmt.Errorf("decoding API response: %w", err)
		}
	}
	return nil
}

// retryAfter reads a Retry-After value (RFC 9110 10.2.3: delay seconds or
// an HTTP date); zero when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(n, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// transient reports whether a failed call may succeed if made again: the
// API was rate limited (429), unavailable (502, 503, 504) or not reached
// at all (connection refused or dropped, a timeout). wait is the answer's
// Retry-After, zero when it gave none.
func transient(err error) (wait time.Duration, ok bool) {
	var p *problemError
	if errors.As(err, &p) {
		switch p.Status {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return p.RetryAfter, true
		}
		return 0, false
	}
	if settingsError(err) {
		return 0, false
	}
	var ue *url.Error
	return 0, errors.As(err, &ue)
}

// settingsError reports whether a failed call failed on something no
// retry mends: the server's certificate is not trusted here (a private CA
// not installed, another host name) or a redirect this client refuses.
func settingsError(err error) bool {
	var (
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
		cr *clearRedirectError
	)
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &cr)
}

// clearRedirectError is a redirect refused because it would send the API
// token in clear (http:// to a host that is not loopback).
type clearRedirectError struct{ to string }

func (e *clearRedirectError) Error() string {
	return fmt.Sprintf("not following the redirect to %s: it would send the API token in clear (use https://, or --insecure-http)", e.to)
}

// notAPI describes an answer that is not the Riposte API's JSON (the
// Temporal UI, a proxy's error or login page): its type, size and start,
// and the setting to check.
func (c *apiClient) notAPI(resp *http.Response, data []byte) string {
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = "no Content-Type"
	}
	start := strings.TrimSpace(string(data))
	if i := strings.IndexAny(start, "\r\n"); i >= 0 {
		start = start[:i]
	}
	if r := []rune(start); len(r) > 80 {
		start = string(r[:80]) + "…"
	}
	return fmt.Sprintf("the answer from %s (%s, %d bytes, starting %q) is not the Riposte API's: check that --api / RIPOSTE_API_URL is riposte dev's --http address or riposte serve's (not the Temporal UI's), and that the API behind a proxy is up",
		resp.Request.URL.Redacted(), ct, len(data), start)
}

// prefixed is s with prefix p, or "" when s is empty.
func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// loopbackHost reports whether host (a name or an IP, no port) is this
// machine: localhost, 127.0.0.0/8 or ::1.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
