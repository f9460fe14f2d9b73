package codec

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/riposte-dev/riposte/internal/auth"
)

// DefaultMaxBodyBytes is the request body limit of Handler when
// HandlerOptions.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 4 << 20

// CORS answers of Handler for allowed origins.
const (
	corsAllowMethods = "POST"
	corsAllowHeaders = "Content-Type, Authorization, X-Namespace, Authorization-Extras"
	corsMaxAge       = "600"
)

// HandlerOptions configures Handler.
type HandlerOptions struct {
	// Prefix is the path the endpoints live under, e.g. "/codec" for
	// POST /codec/encode and POST /codec/decode. "" serves /encode and
	// /decode. A trailing slash is ignored.
	Prefix string
	// AllowedOrigins are the browser origins (scheme://host[:port], e.g.
	// "http://127.0.0.1:8233") that get CORS headers: normally the Web UI's.
	// Other origins get none.
	AllowedOrigins []string
	// Authorize decides whether a POST may encode or decode; failing requests
	// get 401. Nil rejects every request. See BearerToken and DevAuthorizer.
	Authorize func(r *http.Request) bool
	// MaxBodyBytes limits the request body; 0 means DefaultMaxBodyBytes.
	// Larger bodies get 413.
	MaxBodyBytes int64
}

// Handler serves the Temporal codec server protocol with a Codec over k:
// POST {Prefix}/encode and POST {Prefix}/decode, and the same under one extra
// path segment ({Prefix}/{namespace}/decode). Bodies are the protobuf JSON
// form of temporal.api.common.v1.Payloads, {"payloads": [...]}, in both
// directions; errors are {"error": "..."} with 400, 401, 403 (preflight from
// a foreign origin), 404, 405, 413 or 415. See the package documentation for
// CORS and authorization.
func Handler(k *Keyring, opts HandlerOptions) http.Handler {
	limit := opts.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	origins := make(map[string]bool, len(opts.AllowedOrigins))
	for _, o := range opts.AllowedOrigins {
		origins[normalizeOrigin(o)] = true
	}
	return &handler{
		codec:     NewCodec(k),
		prefix:    strings.TrimRight(opts.Prefix, "/"),
		origins:   origins,
		authorize: opts.Authorize,
		limit:     limit,
	}
}

type handler struct {
	codec     *Codec
	prefix    string
	origins   map[string]bool
	authorize func(*http.Request) bool
	limit     int64
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := h.operation(r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, "not found: the codec endpoints are POST "+h.prefix+"/encode and POST "+h.prefix+"/decode")
		return
	}

	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	allowed := origin != "" && h.origins[normalizeOrigin(origin)]
	if allowed {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}

	switch r.Method {
	case http.MethodOptions:
		if origin != "" && !allowed {
			writeError(w, http.StatusForbidden, "origin not allowed")
			return
		}
		if allowed {
			w.Header().Set("Access-Control-Allow-Methods", corsAllowMethods)
			w.Header().Set("Access-Control-Allow-Headers", corsAllowHeaders)
			w.Header().Set("Access-Control-Max-Age", corsMaxAge)
		}
		w.Header().Set("Allow", "POST, OPTIONS")
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use POST")
		return
	}

	if h.authorize == nil || !h.authorize(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="riposte-codec"`)
		writeError(w, http.StatusUnauthorized, "unauthorized")
		return
	}

	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	if r.ContentLength > h.limit {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", h.limit))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.limit))
	if err != nil {
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", h.limit))
			return
		}
		writeError(w, http.StatusBadRequest, "reading request body: "+err.Error())
		return
	}

	var in commonpb.Payloads
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, `body is not {"payloads": [...]} in protobuf JSON: `+err.Error())
		return
	}
	var out []*commonpb.Payload
	if op == "encode" {
		out, err = h.codec.Encode(in.GetPayloads())
	} else {
		out, err = h.decodeBounded(in.GetPayloads())
	}
	if errors.Is(err, errTooMuchDecoded) {
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	resp, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp)
}

// operation maps {prefix}/encode, {prefix}/decode and
// {prefix}/{segment}/encode|decode to "encode" or "decode".
func (h *handler) operation(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, h.prefix)
	if !ok || !strings.HasPrefix(rest, "/") {
		return "", false
	}
	rest = rest[1:]
	if ns, op, found := strings.Cut(rest, "/"); found {
		if ns == "" || strings.Contains(op, "/") {
			return "", false
		}
		rest = op
	}
	if rest == "encode" || rest == "decode" {
		return rest, true
	}
	return "", false
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// normalizeOrigin lower-cases scheme and host and drops a trailing slash,
// so that "HTTP://LocalHost:8233/" matches "http://localhost:8233".
func normalizeOrigin(o string) string {
	return strings.ToLower(strings.TrimRight(strings.TrimSpace(o), "/"))
}

// BearerToken returns an Authorize func accepting requests with
// "Authorization: Bearer <token>" (compared in constant time). An empty token
// accepts nothing.
func BearerToken(token string) func(*http.Request) bool {
	want := sha256.Sum256([]byte(token))
	return func(r *http.Request) bool {
		if token == "" {
			return false
		}
		got, ok := auth.Bearer(r)
		if !ok {
			return false
		}
		sum := sha256.Sum256([]byte(got))
		return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
	}
}

// DevAuthorizer is the Authorize func for the dev server, whose embedded Web
// UI has no login and cannot send a token to an http:// codec endpoint:
//
//   - a request with an Authorization header is accepted only if it is
//     "Bearer <token>" (token "" accepts none);
//   - a request without one is accepted only if it comes from a loopback
//     address and its path carries the per-start session secret as the
//     segment before the operation ({prefix}/{session}/decode): the UI is
//     configured with that endpoint, so the secret is never a header a local
//     process could forge without knowing it. An empty session accepts none.
//
// See the package documentation for why; never use it in production or on a
// listener reachable from other hosts.
func DevAuthorizer(token, session string) func(*http.Request) bool {
	byToken := BearerToken(token)
	want := sha256.Sum256([]byte(session))
	return func(r *http.Request) bool {
		if r.Header.Get("Authorization") != "" {
			return byToken(r)
		}
		if session == "" || !isLoopback(r.RemoteAddr) {
			return false
		}
		got := sha256.Sum256([]byte(SessionSegment(r.URL.Path)))
		return subtle.ConstantTimeCompare(got[:], want[:]) == 1
	}
}

// SessionSegment returns the path segment before the last one
// ("/codec/S/decode" gives "S"), or "" when there is none.
func SessionSegment(p string) string {
	p = strings.TrimRight(p, "/")
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return ""
	}
	p = p[:i]
	return p[strings.LastIndexByte(p, '/')+1:]
}

// LoopbackOrigins returns the origins under which a browser may show a UI
// served at uiURL: the URL's own origin and, when its host is a loopback
// address or "localhost", the same port under 127.0.0.1, localhost and
// [::1]. It returns nil for a URL without scheme or host.
func LoopbackOrigins(uiURL string) []string {
	u, err := url.Parse(uiURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil
	}
	scheme := strings.ToLower(u.Scheme)
	out := []string{scheme + "://" + strings.ToLower(u.Host)}
	host, port := u.Hostname(), u.Port()
	if host != "localhost" && !isLoopbackIP(host) {
		return out
	}
	for _, h := range []string{"127.0.0.1", "localhost", "[::1]"} {
		o := scheme + "://" + h
		if port != "" {
			o += ":" + port
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// LoopbackHostOnly wraps h so it answers 421 to requests whose Host header
// is not "localhost" or a loopback IP (with any port): a DNS-rebinding page
// reaches a loopback listener under its own host name.
func LoopbackHostOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !LoopbackHost(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, "this dev listener answers only on a loopback address (Host 127.0.0.1, [::1] or localhost)")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// LoopbackHost reports whether a Host header names localhost or a loopback
// IP.
func LoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	return host == "localhost" || isLoopbackIP(host)
}

func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	return isLoopbackIP(host)
}

func isLoopbackIP(host string) bool {
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// errTooMuchDecoded: a decode request whose payloads inflate past
// maxDecompressed in total.
var errTooMuchDecoded = errors.New("codec: the payloads of this request decode to more than the limit")

// decodeBounded decodes payloads one by one and stops once their decoded
// size passes maxDecompressed in total: maxDecompressed bounds one payload,
// and one small compressed payload repeated in a body would otherwise
// inflate hundreds of times over the body limit.
func (h *handler) decodeBounded(ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, 0, len(ps))
	total := 0
	for i, p := range ps {
		d, err := h.codec.Decode([]*commonpb.Payload{p})
		if err != nil {
			return nil, fmt.Errorf("payload %d of the request: %w", i, err)
		}
		total += proto.Size(d[0])
		if total > maxDecompressed {
			return nil, fmt.Errorf("%w of %d MiB; ask for fewer payloads at once", errTooMuchDecoded, maxDecompressed>>20)
		}
		out = append(out, d[0])
	}
	return out, nil
}
