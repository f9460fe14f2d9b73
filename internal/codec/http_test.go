package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

const (
	uiOrigin  = "http://127.0.0.1:8233"
	testToken = "rpt_test-token"
	// testSession is the per-start secret riposte dev puts in the UI's
	// codec endpoint.
	testSession = "s3cr3t-session-0123456789abcdef"
)

func testServer(t *testing.T, k *Keyring, opts HandlerOptions) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Handler(k, opts))
	t.Cleanup(srv.Close)
	return srv
}

func defaultOpts() HandlerOptions {
	return HandlerOptions{
		Prefix:         "/codec",
		AllowedOrigins: []string{uiOrigin, "http://localhost:8233"},
		Authorize:      DevAuthorizer(testToken, testSession),
	}
}

type req struct {
	method, path string
	header       map[string]string
	body         io.Reader
}

func do(t *testing.T, srv *httptest.Server, r req) (*http.Response, []byte) {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	hr, err := http.NewRequest(r.method, srv.URL+r.path, r.body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// uiHeaders are the headers the Web UI sends (Content-Type, X-Namespace) plus
// its Origin, which the browser adds; the UI authenticates by the session
// secret in the endpoint path (uiPath), not by any header.
func uiHeaders() map[string]string {
	return map[string]string{"Content-Type": "application/json", "X-Namespace": "default", "Origin": uiOrigin}
}

func TestHandlerRoundTripUIShape(t *testing.T) {
	k := testKeyring(t, "k1")
	srv := testServer(t, k, defaultOpts())

	// Exactly what the UI posts: protobuf JSON of Payloads, bytes as base64.
	detectionJSON := `{"id":"det-1","host":"fin-laptop-042","cmd":"mimikatz sekurlsa::logonpasswords"}`
	encodeBody := `{"payloads":[` +
		`{"metadata":{"encoding":"` + base64.StdEncoding.EncodeToString([]byte("json/plain")) + `"},"data":"` + base64.StdEncoding.EncodeToString([]byte(detectionJSON)) + `"},` +
		`{"metadata":{"encoding":"` + base64.StdEncoding.EncodeToString([]byte("binary/null")) + `"}}` +
		`]}`

	for _, path := range []string{"/codec/" + testSession + "/encode?preserveStorageRefs=true", "/codec/" + testSession + "/encode"} {
		t.Run(path, func(t *testing.T) {
			resp, body := do(t, srv, req{path: path, header: uiHeaders(), body: strings.NewReader(encodeBody)})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("encode: %d %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != uiOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q", got)
			}
			if bytes.Contains(body, []byte("mimikatz")) || bytes.Contains(body, []byte(base64.StdEncoding.EncodeToString([]byte(detectionJSON)))) {
				t.Error("encode response contains plaintext")
			}

			// The response has the same shape, readable by a plain JSON parser.
			var shape struct {
				Payloads []struct {
					Metadata map[string]string `json:"metadata"`
					Data     string            `json:"data"`
				} `json:"payloads"`
			}
			if err := json.Unmarshal(body, &shape); err != nil {
				t.Fatalf("response %s: %v", body, err)
			}
			if len(shape.Payloads) != 2 {
				t.Fatalf("got %d payloads", len(shape.Payloads))
			}
			for i, p := range shape.Payloads {
				enc, _ := base64.StdEncoding.DecodeString(p.Metadata["encoding"])
				kid, _ := base64.StdEncoding.DecodeString(p.Metadata["encryption-key-id"])
				if string(enc) != EncodingEncrypted || string(kid) != "k1" || p.Data == "" {
					t.Errorf("payload %d: encoding %q key %q data %d chars", i, enc, kid, len(p.Data))
				}
			}

			decPath := strings.Replace(path, "encode", "decode", 1)
			resp, body = do(t, srv, req{path: decPath, header: uiHeaders(), body: bytes.NewReader(body)})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("decode: %d %s", resp.StatusCode, body)
			}
			var got, want map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(encodeBody), &want); err != nil {
				t.Fatal(err)
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(want)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("decode returned\n%s\nwant\n%s", gotJSON, wantJSON)
			}
		})
	}
}

// TestHandlerWithSDKRemoteCodec talks to the handler the way the Temporal CLI
// (--codec-endpoint, --codec-auth) does, through the SDK's remote codec.
func TestHandlerWithSDKRemoteCodec(t *testing.T) {
	k := testKeyring(t, "k1")
	srv := testServer(t, k, defaultOpts())
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: srv.URL + "/codec",
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+testToken)
			return nil
		},
	})
	orig, err := converter.GetDefaultDataConverter().ToPayloads(sampleDetection(), []byte{0, 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := remote.Encode(orig.Payloads)
	if err != nil {
		t.Fatalf("remote encode: %v", err)
	}
	// Encoded remotely, decoded locally, and the other way round.
	local, err := NewCodec(k).Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	localEnc, err := NewCodec(k).Encode(orig.Payloads)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := remote.Decode(localEnc)
	if err != nil {
		t.Fatalf("remote decode: %v", err)
	}
	for i := range orig.Payloads {
		if !proto.Equal(local[i], orig.Payloads[i]) || !proto.Equal(dec[i], orig.Payloads[i]) {
			t.Errorf("payload %d differs", i)
		}
	}
	// Payloads a compressing worker wrote read in the UI too.
	big := largeDetection(t)
	zEnc, err := NewCodecWith(k, Options{Compress: true}).Encode([]*commonpb.Payload{big})
	if err != nil {
		t.Fatal(err)
	}
	if len(zEnc[0].Data) >= proto.Size(big) {
		t.Fatalf("sealed %d bytes for a %d-byte payload: not compressed", len(zEnc[0].Data), proto.Size(big))
	}
	zDec, err := remote.Decode(zEnc)
	if err != nil {
		t.Fatalf("remote decode of a compressed payload: %v", err)
	}
	if !proto.Equal(zDec[0], big) {
		t.Error("compressed payload decoded through the endpoint differs")
	}
}

func TestHandlerCORS(t *testing.T) {
	srv := testServer(t, testKeyring(t, "k1"), defaultOpts())
	preflight := func(origin string) map[string]string {
		return map[string]string{
			"Origin":                         origin,
			"Access-Control-Request-Method":  "POST",
			"Access-Control-Request-Headers": "content-type,x-namespace",
		}
	}
	tests := []struct {
		name       string
		r          req
		wantStatus int
		wantACAO   string // "" = no CORS headers at all
	}{
		{"preflight allowed origin", req{method: "OPTIONS", path: "/codec/decode", header: preflight(uiOrigin)}, 204, uiOrigin},
		{"preflight other allowed origin", req{method: "OPTIONS", path: "/codec/encode", header: preflight("http://localhost:8233")}, 204, "http://localhost:8233"},
		{"preflight foreign origin", req{method: "OPTIONS", path: "/codec/decode", header: preflight("https://evil.example")}, 403, ""},
		{"preflight same host other port", req{method: "OPTIONS", path: "/codec/decode", header: preflight("http://127.0.0.1:9999")}, 403, ""},
		{"preflight without origin", req{method: "OPTIONS", path: "/codec/decode"}, 204, ""},
		{"POST from foreign origin with valid token", req{path: "/codec/encode", header: map[string]string{"Origin": "https://evil.example", "Authorization": "Bearer " + testToken, "Content-Type": "application/json"}, body: strings.NewReader(`{"payloads":[]}`)}, 200, ""},
		{"POST from allowed origin", req{path: "/codec/" + testSession + "/encode", header: uiHeaders(), body: strings.NewReader(`{"payloads":[]}`)}, 200, uiOrigin},
		{"401 from allowed origin keeps CORS headers", req{path: "/codec/encode", header: map[string]string{"Origin": uiOrigin, "Authorization": "Bearer wrong", "Content-Type": "application/json"}}, 401, uiOrigin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, srv, tt.r)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, body, tt.wantStatus)
			}
			h := resp.Header
			if got := h.Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantACAO)
			}
			if tt.wantACAO == "" {
				for name := range h {
					if strings.HasPrefix(name, "Access-Control-") {
						t.Errorf("unexpected CORS header %s: %s", name, h.Get(name))
					}
				}
				return
			}
			if h.Get("Access-Control-Allow-Credentials") != "true" {
				t.Error("Access-Control-Allow-Credentials not true")
			}
			if !slices.Contains(h.Values("Vary"), "Origin") {
				t.Errorf("Vary = %v", h.Values("Vary"))
			}
			if tt.r.method == "OPTIONS" {
				if got := h.Get("Access-Control-Allow-Methods"); got != "POST" {
					t.Errorf("Allow-Methods = %q", got)
				}
				allowHeaders := strings.ToLower(h.Get("Access-Control-Allow-Headers"))
				for _, want := range []string{"content-type", "authorization", "x-namespace"} {
					if !slices.Contains(strings.Split(strings.ReplaceAll(allowHeaders, " ", ""), ","), want) {
						t.Errorf("Allow-Headers %q lacks %s", allowHeaders, want)
					}
				}
			}
		})
	}
}

func TestHandlerErrors(t *testing.T) {
	k := testKeyring(t, "k1")
	srv := testServer(t, k, defaultOpts())
	bearer := map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "application/json"}
	huge := `{"payloads":[{"data":"` + strings.Repeat("A", DefaultMaxBodyBytes) + `"}]}`

	foreign, err := NewCodec(testKeyring(t, "someone-elses-key")).Encode([]*commonpb.Payload{{Data: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	foreignBody, _ := json.Marshal(map[string]any{"payloads": []map[string]any{{
		"metadata": map[string][]byte{"encoding": foreign[0].Metadata["encoding"], "encryption-key-id": foreign[0].Metadata["encryption-key-id"]},
		"data":     foreign[0].Data,
	}}})

	tests := []struct {
		name       string
		r          req
		wantStatus int
		wantErr    string
	}{
		{"no credentials, no origin", req{path: "/codec/decode", header: map[string]string{"Content-Type": "application/json"}, body: strings.NewReader(`{"payloads":[]}`)}, 401, "unauthorized"},
		{"wrong token", req{path: "/codec/decode", header: map[string]string{"Authorization": "Bearer nope", "Content-Type": "application/json"}, body: strings.NewReader(`{"payloads":[]}`)}, 401, "unauthorized"},
		{"wrong token from UI origin", req{path: "/codec/decode", header: map[string]string{"Authorization": "Bearer nope", "Origin": uiOrigin, "Content-Type": "application/json"}, body: strings.NewReader(`{"payloads":[]}`)}, 401, "unauthorized"},
		{"foreign origin without token", req{path: "/codec/decode", header: map[string]string{"Origin": "https://evil.example", "Content-Type": "application/json"}, body: strings.NewReader(`{"payloads":[]}`)}, 401, "unauthorized"},
		{"GET", req{method: "GET", path: "/codec/decode", header: bearer}, 405, "method GET not allowed"},
		{"PUT", req{method: "PUT", path: "/codec/encode", header: bearer}, 405, "not allowed"},
		{"huge body", req{path: "/codec/encode", header: bearer, body: strings.NewReader(huge)}, 413, "larger than 4194304 bytes"},
		{"huge body, chunked", req{path: "/codec/encode", header: bearer, body: io.MultiReader(strings.NewReader(huge))}, 413, "larger than"},
		{"not JSON content type", req{path: "/codec/encode", header: map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "text/plain"}, body: strings.NewReader(`{"payloads":[]}`)}, 415, "application/json"},
		{"bad JSON", req{path: "/codec/encode", header: bearer, body: strings.NewReader(`{"payloads":`)}, 400, "protobuf JSON"},
		{"wrong shape", req{path: "/codec/encode", header: bearer, body: strings.NewReader(`{"payloads":[{"data":"not base64!"}]}`)}, 400, "protobuf JSON"},
		{"unknown key", req{path: "/codec/decode", header: bearer, body: bytes.NewReader(foreignBody)}, 400, `unknown encryption key "someone-elses-key"`},
		{"unknown path", req{path: "/codec/download", header: bearer}, 404, "not found"},
		{"outside prefix", req{path: "/decode", header: bearer}, 404, "not found"},
		{"too deep", req{path: "/codec/a/b/decode", header: bearer}, 404, "not found"},
		{"prefix lookalike", req{path: "/codecx/decode", header: bearer}, 404, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.r.body == nil {
				tt.r.body = strings.NewReader(`{"payloads":[]}`)
			}
			resp, body := do(t, srv, tt.r)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("error body %q is not JSON: %v", body, err)
			}
			if !strings.Contains(e.Error, tt.wantErr) {
				t.Errorf("error %q does not contain %q", e.Error, tt.wantErr)
			}
			switch tt.wantStatus {
			case 405:
				if resp.Header.Get("Allow") != "POST, OPTIONS" {
					t.Errorf("Allow = %q", resp.Header.Get("Allow"))
				}
			case 401:
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("no WWW-Authenticate")
				}
			}
		})
	}
}

func TestHandlerNilAuthorizeRejects(t *testing.T) {
	opts := defaultOpts()
	opts.Authorize = nil
	srv := testServer(t, testKeyring(t, "k1"), opts)
	resp, body := do(t, srv, req{path: "/codec/decode", header: map[string]string{"Authorization": "Bearer " + testToken, "Origin": uiOrigin, "Content-Type": "application/json"}, body: strings.NewReader(`{"payloads":[]}`)})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status = %d %s", resp.StatusCode, body)
	}
}

func TestHandlerCustomLimitAndRootPrefix(t *testing.T) {
	srv := testServer(t, testKeyring(t, "k1"), HandlerOptions{Authorize: BearerToken(testToken), MaxBodyBytes: 64})
	h := map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "application/json; charset=utf-8"}
	if resp, body := do(t, srv, req{path: "/encode", header: h, body: strings.NewReader(`{"payloads":[]}`)}); resp.StatusCode != 200 {
		t.Fatalf("small body: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, srv, req{path: "/encode", header: h, body: strings.NewReader(`{"payloads":[{"data":"` + strings.Repeat("A", 64) + `"}]}`)}); resp.StatusCode != 413 {
		t.Fatalf("status = %d, want 413", resp.StatusCode)
	}
}

func TestAuthorizers(t *testing.T) {
	dev := DevAuthorizer(testToken, testSession)
	bt := BearerToken(testToken)
	empty := BearerToken("")
	sess := "/codec/" + testSession + "/decode"
	tests := []struct {
		name             string
		remote           string
		path             string
		headers          map[string]string
		wantDev, wantTok bool
	}{
		{"session path from loopback", "127.0.0.1:50000", sess, map[string]string{"Origin": uiOrigin}, true, false},
		{"session path from ::1, no origin", "[::1]:50000", sess, nil, true, false},
		{"session path from another host", "192.0.2.7:50000", sess, map[string]string{"Origin": uiOrigin}, false, false},
		// The attack of issue 12: a local process forging the UI's Origin.
		{"forged UI origin, no session", "127.0.0.1:50000", "/codec/decode", map[string]string{"Origin": uiOrigin}, false, false},
		{"forged UI origin, namespace segment", "127.0.0.1:50000", "/codec/default/decode", map[string]string{"Origin": uiOrigin}, false, false},
		{"session prefix only", "127.0.0.1:50000", "/codec/" + testSession[:8] + "/decode", nil, false, false},
		{"session with suffix", "127.0.0.1:50000", "/codec/" + testSession + "x/decode", nil, false, false},
		{"session case changed", "127.0.0.1:50000", "/codec/" + strings.ToUpper(testSession) + "/decode", nil, false, false},
		{"no origin, no token", "127.0.0.1:50000", "/codec/decode", nil, false, false},
		{"good token from anywhere", "192.0.2.7:50000", "/codec/decode", map[string]string{"Authorization": "Bearer " + testToken}, true, true},
		{"good token, lowercase scheme", "192.0.2.7:50000", "/codec/decode", map[string]string{"Authorization": "bearer " + testToken}, true, true},
		{"wrong token on the session path", "127.0.0.1:50000", sess, map[string]string{"Authorization": "Bearer x", "Origin": uiOrigin}, false, false},
		{"basic auth on the session path", "127.0.0.1:50000", sess, map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, false, false},
		{"token prefix only", "127.0.0.1:50000", "/codec/decode", map[string]string{"Authorization": "Bearer " + testToken[:5]}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", tt.path, nil)
			r.RemoteAddr = tt.remote
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			if got := dev(r); got != tt.wantDev {
				t.Errorf("DevAuthorizer = %v, want %v", got, tt.wantDev)
			}
			if got := bt(r); got != tt.wantTok {
				t.Errorf("BearerToken = %v, want %v", got, tt.wantTok)
			}
			if empty(r) {
				t.Error("BearerToken(\"\") accepted a request")
			}
		})
	}
	if DevAuthorizer("", "")(httptest.NewRequest("POST", "/codec//decode", nil)) {
		t.Error(`DevAuthorizer("", "") accepted an empty session segment`)
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Authorization", "Bearer ")
	if BearerToken("")(r) {
		t.Error(`BearerToken("") accepted an empty bearer token`)
	}
}

func TestLoopbackHostOnly(t *testing.T) {
	h := LoopbackHostOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	for host, want := range map[string]int{
		"127.0.0.1:8080": 204, "localhost:8233": 204, "[::1]:8080": 204, "LOCALHOST.": 204, "127.0.0.2": 204,
		"evil.example:8080": 421, "rebind.127.0.0.1.nip.io:8080": 421, "192.0.2.7:8080": 421, "": 421,
	} {
		r := httptest.NewRequest("POST", "/codec/x/decode", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Host %q: %d, want %d", host, w.Code, want)
		}
	}
}

func TestLoopbackOrigins(t *testing.T) {
	tests := []struct {
		url  string
		want []string
	}{
		{"http://127.0.0.1:8233", []string{"http://127.0.0.1:8233", "http://localhost:8233", "http://[::1]:8233"}},
		{"http://localhost:8233/", []string{"http://localhost:8233", "http://127.0.0.1:8233", "http://[::1]:8233"}},
		{"https://temporal.corp.example", []string{"https://temporal.corp.example"}},
		{"not a url", nil},
	}
	for _, tt := range tests {
		if got := LoopbackOrigins(tt.url); !slices.Equal(got, tt.want) {
			t.Errorf("LoopbackOrigins(%q) = %v, want %v", tt.url, got, tt.want)
		}
	}
}
