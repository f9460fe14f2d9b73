package system

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/telemetry"
	"github.com/riposte-dev/riposte/workflows"
)

// fakeOIDC accepts the JWT-shaped tokens it was given, as an IdP's
// verifier would.
type fakeOIDC map[string]*auth.Principal

func (f fakeOIDC) Verify(_ context.Context, tok string) (*auth.Principal, error) {
	if p, ok := f[tok]; ok {
		return p, nil
	}
	return nil, errors.New("bad signature")
}

// OIDC access tokens of the fixture's fake IdP.
const (
	oidcReader   = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbmFseXN0In0.c2lnLXJlYWRlcg"
	oidcNoScopes = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJndWVzdCJ9.c2lnLW5vbmU"
)

// syncBuf collects the API's audit log.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newCodecServe is serve's API (no embedded server) with the codec on and
// OIDC configured, as deploy/ runs it behind the Temporal UI.
func newCodecServe(t *testing.T) (*System, *codec.Keyring, *syncBuf) {
	t.Helper()
	t.Setenv("SLACK_BOT_TOKEN", "")
	t.Setenv("SLACK_APP_TOKEN", "")
	t.Setenv("SLACK_SIGNING_SECRET", "")
	dir := t.TempDir()
	writePlaybook(t, dir, "a.yaml", reloadPlaybook("alpha", 1))
	keys, err := codec.NewKeyring("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, codec.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuf{}
	audit := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	verifier := fakeOIDC{
		oidcReader:   {Identity: "U0ANALYST1", Scopes: []string{auth.ScopeRead}, Kind: auth.KindOIDC, TokenID: "oidc:analyst"},
		oidcNoScopes: {Identity: "U0GUEST001", Kind: auth.KindOIDC, TokenID: "oidc:guest"},
	}
	logger := slog.New(slog.DiscardHandler)
	b, err := prepareAPI(APIOptions{Addr: "0", Token: reloadToken, Playbooks: []string{dir}, OIDC: verifier,
		Codec: true, CodecOrigins: []string{"https://temporal-ui.example"}, AuditLogger: audit}, logger)
	if err != nil {
		t.Fatal(err)
	}
	s := &System{
		Temporal: config.Temporal{Namespace: "default", TaskQueue: workflows.DefaultTaskQueue},
		Client:   &countClient{},
		Metrics:  telemetry.NewMetrics(telemetry.MetricsOptions{NoRuntimeCollectors: true}),
		Keys:     keys,
		logger:   logger,
		closers:  []func(){b.closeListener},
	}
	t.Cleanup(s.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := s.startAPI(ctx, Options{}, b); err != nil {
		t.Fatal(err)
	}
	return s, keys, logs
}

// decodeAs posts one payload encrypted under keys to /codec/decode as the
// Temporal UI does (its signed-in user's access token, passAccessToken).
func decodeAs(t *testing.T, s *System, keys *codec.Keyring, token string) *httptest.ResponseRecorder {
	t.Helper()
	enc, err := codec.NewCodec(keys).Encode([]*commonpb.Payload{{
		Metadata: map[string][]byte{"encoding": []byte("json/plain")},
		Data:     []byte(`{"title":"lsass dump on host-1"}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	r := httptest.NewRequest("POST", "/codec/decode?preserveStorageRefs=true", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Namespace", "default")
	r.Header.Set("Origin", "https://temporal-ui.example")
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	s.API.server.Handler.ServeHTTP(w, r)
	return w
}

// The Temporal UI can send only its user's OIDC access token to a codec
// endpoint (codec.passAccessToken; deploy/README.md: "the Temporal UI sends
// a token only when it has a login (OIDC)"). serve's API accepts that token
// for reads, so its codec endpoint must too, or the UI can never decode.
func TestServeCodecAcceptsOIDCReadToken(t *testing.T) {
	s, keys, _ := newCodecServe(t)

	// The API itself accepts the token for a read.
	r := httptest.NewRequest("GET", "/v1/playbooks", nil)
	r.Header.Set("Authorization", "Bearer "+oidcReader)
	w := httptest.NewRecorder()
	s.API.server.Handler.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("GET /v1/playbooks with the OIDC reader token: %d %s", w.Code, w.Body)
	}

	w = decodeAs(t, s, keys, oidcReader)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), base64.StdEncoding.EncodeToString([]byte("json/plain"))) {
		t.Fatalf("POST /codec/decode with an OIDC access token of the read scope: %d %s; want 200 with the decoded payload", w.Code, w.Body)
	}
	// Without the read scope it stays refused.
	if w := decodeAs(t, s, keys, oidcNoScopes); w.Code != http.StatusUnauthorized {
		t.Errorf("POST /codec/decode with an OIDC token without read: %d %s, want 401", w.Code, w.Body)
	}
}

// auditLine returns the audit record of the codec call in logs.
func auditLine(logs string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "audit: api call") && strings.Contains(l, "/codec/decode") {
			return l
		}
	}
	return ""
}

// The codec endpoint decrypts every payload: whoever calls it reads every
// detection. README: every API call is written to the audit log with its
// principal ("token kind, token id and identity, never the token"), so a
// decode names the person who decrypted, and a refused one who was refused.
func TestServeCodecAuditNamesDecrypter(t *testing.T) {
	s, keys, logs := newCodecServe(t)
	if w := decodeAs(t, s, keys, oidcReader); w.Code != http.StatusOK {
		t.Fatalf("decode: %d %s", w.Code, w.Body)
	}
	line := auditLine(logs.String())
	if line == "" {
		t.Fatalf("no audit record of the decode in:\n%s", logs)
	}
	if !strings.Contains(line, "U0ANALYST1") || !strings.Contains(line, "oidc:analyst") {
		t.Errorf("audit record of a decode does not name who decrypted (principal oidc:analyst, U0ANALYST1):\n%s", line)
	}

	s2, keys2, logs2 := newCodecServe(t)
	if w := decodeAs(t, s2, keys2, oidcNoScopes); w.Code != http.StatusUnauthorized {
		t.Fatalf("decode without read: %d %s", w.Code, w.Body)
	}
	line = auditLine(logs2.String())
	if !strings.Contains(line, "U0GUEST001") || !strings.Contains(line, "missing scope read") {
		t.Errorf("audit record of a refused decode does not name the caller and the missing scope:\n%s", line)
	}
}
