package connector

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// --- one connection, for one call ---

// Conn is a connection opened for one call: config, resolved secrets (kept
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

// VendorFunc is a vendor handler with its connection opened.
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

// Where names the connection in messages: `CrowdStrike (connection "cs")`.
func (c *Conn) Where() string { return fmt.Sprintf("%s (connection %q)", c.Label, c.Name) }

// Secret resolves a secret field of the connection now.
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

// UseHeader makes c authenticate by setting header to value on every
// request (an API key, "SSWS <token>", a Basic value). value must already be
// known as a secret (Secret, AddSecret) so it is scrubbed from errors.
func (c *Conn) UseHeader(header, value string) {
	c.Auth = func(_ context.Context, r *http.Request) error {
		r.Header.Set(header, value)
		return nil
	}
}

// UseSecretHeader resolves the secret field and makes c send it in header
// after prefix ("ApiToken ", "SSWS ", or "" for the bare value).
func (c *Conn) UseSecretHeader(field, header, prefix string) error {
	v, err := c.Secret(field)
	if err != nil {
		return err
	}
	c.UseHeader(header, prefix+v)
	return nil
}

// Option returns a non-secret field, or its default.
func (c *Conn) Option(field string) string {
	if v := strings.TrimSpace(c.Cfg.Options[field]); v != "" {
		return v
	}
	if f, ok := c.Type.Field(field); ok {
		return f.Default
	}
	return ""
}

// RequireOption returns a non-secret field that must be set.
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

// Endpoint joins the base URL (which may carry a path prefix) and an API
// path, plus a query.
func (c *Conn) Endpoint(path string, q url.Values) string {
	u := c.BaseURL() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// LogAction records a state change (or the decision to skip one).
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
