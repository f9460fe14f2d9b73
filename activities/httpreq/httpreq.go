// Package httpreq is the generic HTTP connector (http.request): one request
// to a configured connection's base URL, never leaving it, with the step's
// idempotency key in a header and POST/PATCH retried only when the step
// says that is safe (RFC 9110 §9.2.2).
package httpreq

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strings"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
)

// http.request: anything without a dedicated connector, but only to a
// named connection of type http. Its base URL is fixed by config; a step
// supplies a relative path that cannot climb out of it.

const maxHTTPBodyOutput = 64 << 10

// Type is the http connection type: what a connection needs in riposte.yaml.
var Type = connector.ConnectionType{
	Name: "http", Description: "Any HTTP API, for http.request. Requests may only go below base_url.",
	Fields: []connector.ConnectionField{
		{Name: "token", Secret: true, Description: "Credential sent in auth_header (optional).", Example: "{env: TICKETS_TOKEN}"},
		{Name: "auth_header", Default: "Authorization", Description: "Header that carries the token."},
		{Name: "auth_scheme", Default: "Bearer", Description: "Prefix of the token in auth_header; \"none\" sends the bare token."},
	},
}

// docs is the connector's docs fragment (docs/actions.md is generated
// from it).
//
//go:embed README.md
var docs string

// Connector is this vendor's line in the registry (activities/connections.go).
func Connector() connector.Vendor {
	return connector.Vendor{Docs: docs, Type: Type, Definitions: Definitions}
}

func Definitions() []connector.Definition {
	return []connector.Definition{{
		Action: catalog.Action{
			Name: "http.request", Vendor: "http", Risk: catalog.RiskContain, Undo: "core.noop",
			Description: "Sends an HTTP request to a configured http connection (base URL and credentials come from riposte.yaml; the path is relative and cannot leave the base URL). Treated as contain: it may change anything, and it has no undo. The Idempotency-Key header carries the step's idempotency key. POST and PATCH are not retried after a failure that may have reached the API unless the step sets retry or idempotency_key.",
			Params: []catalog.Param{
				{Name: "connection", Type: catalog.TypeString, Required: true, Description: "Name of a connection of type http in riposte.yaml."},
				{Name: "method", Type: catalog.TypeString, Description: "HTTP method (default GET).", Enum: []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}},
				{Name: "path", Type: catalog.TypeString, Required: true, Description: "Path below the connection's base URL, e.g. /api/v1/blocklist. No scheme, host, '..', query or fragment."},
				{Name: "query", Type: catalog.TypeObject, Description: "Query parameters (values: strings, numbers, bools or lists of them; an object fails the step)."},
				{Name: "headers", Type: catalog.TypeObject, Description: "Extra request headers (values: strings, numbers or bools; a list or object fails the step). Host, Content-Length and the connection's auth header cannot be set."},
				{Name: "body", Type: catalog.TypeAny, Description: "Request body: a string is sent as is (text/plain unless headers set Content-Type), anything else as JSON."},
				{Name: "idempotency_key", Type: catalog.TypeString, Description: "Name of a header that carries the step's idempotency key (same on every retry), for APIs that dedupe on their own header, e.g. X-Idempotency-Key. Setting it lets a POST or PATCH be retried. Idempotency-Key and X-Request-Id always carry it."},
				{Name: "retry", Type: catalog.TypeBool, Description: "Whether a failure that may have reached the API (timeout, 5xx) is retried. Default: yes for GET, HEAD, PUT, DELETE and with idempotency_key; no for POST and PATCH, which could act twice. 429 is always retried."},
			},
			Outputs: []catalog.Field{
				{Name: "status", Type: catalog.TypeInt, Description: "HTTP status code (2xx; other statuses fail the step)."},
				{Name: "headers", Type: catalog.TypeObject, Description: "Response headers (first value of each)."},
				{Name: "body", Type: catalog.TypeString, Description: "Response body as text, at most 64 KiB."},
				{Name: "truncated", Type: catalog.TypeBool, Description: "Whether body was cut at 64 KiB."},
				{Name: "json", Type: catalog.TypeAny, Description: "Response body parsed as JSON, when it is JSON."},
				connector.ConnectionOutput(),
			},
		},
		Run: connector.Run(Type, "HTTP", true, httpRequest),
	}}
}

// forbiddenHeaders cannot be set by a step.
var forbiddenHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true,
	"Upgrade": true, "Te": true, "Trailer": true, "Proxy-Authorization": true, "Cookie": true,
}

func httpRequest(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	method, err := connector.OptString(c.Call, "method", "GET")
	if err != nil {
		return nil, err
	}
	method = strings.ToUpper(method)
	switch method {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD":
	default:
		return nil, connector.InvalidParam("http.request: method %q is not one of GET, POST, PUT, PATCH, DELETE, HEAD", method)
	}
	rawPath, err := connector.RequireString(c.Call, "path")
	if err != nil {
		return nil, err
	}
	path, err := safeRelativePath(rawPath)
	if err != nil {
		return nil, err
	}
	wrap := func(err error) error { return fmt.Errorf("%s %s: %w", method, path, err) }

	authHeader := textproto.CanonicalMIMEHeaderKey(c.Option("auth_header"))
	var token string
	if ref, ok := c.Cfg.Secrets["token"]; ok && !ref.IsZero() {
		if token, err = c.Secret("token"); err != nil {
			return nil, wrap(err)
		}
		scheme := c.Option("auth_scheme")
		value := token
		if scheme != "" && !strings.EqualFold(scheme, "none") {
			value = scheme + " " + token
		}
		c.UseHeader(authHeader, value)
	}

	q := url.Values{}
	query, err := connector.OptObject(c.Call, "query")
	if err != nil {
		return nil, err
	}
	for k, v := range query {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				if !isScalar(e) {
					return nil, connector.InvalidParam("http.request: query %q holds a %s in its list; query values are strings, numbers, bools or lists of them", k, kindOf(e))
				}
				q.Add(k, scalarString(e))
			}
		default:
			if !isScalar(x) {
				return nil, connector.InvalidParam("http.request: query %q is a %s; query values are strings, numbers, bools or lists of them", k, kindOf(x))
			}
			q.Set(k, scalarString(x))
		}
	}
	hdr := http.Header{}
	headers, err := connector.OptObject(c.Call, "headers")
	if err != nil {
		return nil, err
	}
	for k, v := range headers {
		ck := textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k))
		if forbiddenHeaders[ck] || (ck == authHeader && token != "") || !validHeaderName(ck) {
			return nil, connector.InvalidParam("http.request: header %q cannot be set by a step", k)
		}
		if !isScalar(v) {
			return nil, connector.InvalidParam("http.request: header %q is a %s; a header value is a string, number or bool", k, kindOf(v))
		}
		s := scalarString(v)
		if strings.ContainsAny(s, "\r\n") {
			return nil, connector.InvalidParam("http.request: header %q has a line break", k)
		}
		hdr.Set(ck, s)
	}
	if name, ok := connector.Param(c.Call, "idempotency_key"); ok {
		hn, isStr := name.(string)
		ck := textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(hn))
		if !isStr || !validHeaderName(ck) || forbiddenHeaders[ck] || ck == authHeader {
			return nil, connector.InvalidParam("http.request: idempotency_key must be a header name such as X-Idempotency-Key, got %v", name)
		}
		key := connector.IdemKey(c.Call)
		if key == "" {
			return nil, connector.InvalidParam("http.request: idempotency_key is set but the call has no idempotency key")
		}
		hdr.Set(ck, key)
	}
	retry, err := retryAllowed(c, method)
	if err != nil {
		return nil, err
	}
	noRetry := func(err error) error {
		if retry {
			return err
		}
		return connector.NoRetry(err, "HTTPUncertain", fmt.Sprintf("the %s %s, so it is not retried (set retry: true, or idempotency_key if the API dedupes)", method, catalog.MayHaveReached))
	}
	req := connector.Request{Method: method, Path: path, Query: q, Header: hdr}
	if body, ok := connector.Param(c.Call, "body"); ok && method != "GET" && method != "HEAD" {
		if s, isStr := body.(string); isStr {
			ct := hdr.Get("Content-Type")
			if ct == "" {
				ct = "text/plain; charset=utf-8"
			}
			req.Raw, req.RawType = []byte(s), ct
		} else {
			req.JSON = body
		}
	}
	resp, err := c.Do(ctx, req)
	if err != nil {
		return nil, wrap(noRetry(err))
	}
	if !resp.OK() {
		return nil, wrap(noRetry(c.StatusError(resp, "", "")))
	}
	out := map[string]any{"status": resp.Status, "truncated": false}
	h := map[string]any{}
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "Set-Cookie" {
			continue
		}
		h[k] = resp.Header.Get(k)
	}
	out["headers"] = h
	body := resp.Body
	if len(body) > maxHTTPBodyOutput {
		body, out["truncated"] = body[:maxHTTPBodyOutput], true
	}
	out["body"] = strings.ToValidUTF8(string(body), "\uFFFD")
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); (mt == "application/json" || strings.HasSuffix(mt, "+json")) && out["truncated"] == false {
		var v any
		if json.Unmarshal(resp.Body, &v) == nil {
			out["json"] = v
		}
	}
	c.LogAction("sent http request", "method", method, "path", path, "status", resp.Status)
	return out, nil
}

// safeRelativePath accepts a path below the base URL only: no scheme or
// host, no dot segments (encoded or not), no query or fragment.
func safeRelativePath(p string) (string, error) {
	bad := func(why string) error {
		return connector.InvalidParam("http.request: path %q %s; give a path relative to the connection's base_url", p, why)
	}
	switch {
	case strings.Contains(p, "://") || strings.HasPrefix(p, "//") || strings.HasPrefix(strings.ToLower(p), "http:") || strings.HasPrefix(strings.ToLower(p), "https:"):
		return "", bad("is an absolute URL")
	case strings.ContainsAny(p, "?#"):
		return "", bad("has a query or fragment (use the query param)")
	case strings.ContainsAny(p, "\\ \t\r\n") || strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", bad("has a backslash, space or control character")
	}
	dec, err := url.PathUnescape(p)
	if err != nil {
		return "", bad("is not a valid escaped path")
	}
	lower := strings.ToLower(dec)
	if strings.Contains(lower, "%2e") || strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(dec, "\\") {
		return "", bad("is escaped twice")
	}
	if connector.ClimbsOut(dec) {
		return "", bad("has a . or .. segment (a path parameter after it, as in ..;, included)")
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p, nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// isScalar reports whether a param value is a string, number, bool or
// null: what a query value or a header can carry as text.
func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any, []string:
		return false
	}
	return true
}

// kindOf names a non-scalar param value in errors.
func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any, []string:
		return "list"
	}
	return fmt.Sprintf("%T", v)
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprintf("%d", int64(x))
		}
	}
	return fmt.Sprint(v)
}

// retryAllowed decides whether uncertain failures of this call may be
// retried: the retry param, else idempotent methods (RFC 9110 9.2.2) and
// calls that carry an idempotency_key header.
func retryAllowed(c *connector.Conn, method string) (bool, error) {
	if v, ok := connector.Param(c.Call, "retry"); ok {
		b, isBool := v.(bool)
		if !isBool {
			return false, connector.InvalidParam("http.request: retry must be true or false, got %v", v)
		}
		return b, nil
	}
	if _, ok := connector.Param(c.Call, "idempotency_key"); ok {
		return true, nil
	}
	switch method {
	case "GET", "HEAD", "PUT", "DELETE":
		return true, nil
	}
	return false, nil
}
