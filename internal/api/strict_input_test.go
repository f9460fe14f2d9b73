package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/auth/authtest"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// Inputs a caller gets slightly wrong must never read as "go live": a
// flag written another way, a missing field, a repeated key, trailing data.

// ?explain is a flag: explain=1, TRUE or a bare ?explain mean what
// explain=true means (start nothing); a value that is not a boolean is a
// 400, never a live dispatch.
func TestExplainFlagForms(t *testing.T) {
	for _, tc := range []struct {
		query string
		code  int
	}{
		{"explain=true", 200}, {"explain=1", 200}, {"explain=TRUE", 200}, {"explain=True", 200}, {"explain", 200}, {"explain=", 200},
		{"explain=yes", 400}, {"explain=on", 400},
	} {
		t.Run(tc.query, func(t *testing.T) {
			st := &fakeStarter{}
			h := newTestServer(t, st).Handler()
			got := serve(h, post("/v1/detections?"+tc.query, "Bearer "+testToken, det("explain-1", 5, "")))
			if n := len(st.Starts()); n != 0 {
				t.Errorf("%d run(s) started", n)
			}
			if got.code != tc.code {
				t.Errorf("status %d, want %d: %s", got.code, tc.code, got.body)
			}
			if tc.code == 400 && !strings.Contains(got.body, "explain must be true or false") {
				t.Errorf("the 400 does not name the parameter: %s", got.body)
			}
		})
	}
}

// A bare ?dry_run is a dry run, not a live one.
func TestDryRunFlagForms(t *testing.T) {
	for _, q := range []string{"dry_run", "dry_run=", "dry_run=1"} {
		t.Run(q, func(t *testing.T) {
			st := &fakeStarter{}
			h := newTestServer(t, st).Handler()
			got := serve(h, post("/v1/detections?"+q, "Bearer "+testToken, det("dry-1", 5, "")))
			starts := st.Starts()
			if got.code != http.StatusAccepted || len(starts) == 0 {
				t.Fatalf("status %d, %d starts: %s", got.code, len(starts), got.body)
			}
			for _, s := range starts {
				if !s.Input.DryRun {
					t.Errorf("live run %s started", s.Options.ID)
				}
			}
		})
	}
}

// The wrapper's keys are read as the intake reads detections: a repeated
// key is refused (json.Unmarshal into a map would keep the last, turning
// dry_run true into false or dropping a detections array), and an error
// inside the wrapper's detections is located in the body as sent.
func TestWrapperRepeatedKeysAndLocations(t *testing.T) {
	for name, body := range map[string]string{
		"dry_run twice":    `{"dry_run": true, "detections": [` + det("dup-1", 5, "") + `], "dry_run": false}`,
		"detections twice": `{"detections": [` + det("dup-a", 5, "") + `], "detections": [` + det("dup-b", 5, "") + `]}`,
	} {
		t.Run(name, func(t *testing.T) {
			st := &fakeStarter{}
			got := serve(newTestServer(t, st).Handler(), post("/v1/detections", "Bearer "+testToken, body))
			if got.code != http.StatusBadRequest || len(st.Starts()) != 0 {
				t.Fatalf("status %d, %d start(s); want 400 and none: %s", got.code, len(st.Starts()), got.body)
			}
			if !strings.Contains(got.body, "is repeated in the request wrapper") {
				t.Errorf("the 400 does not say the key is repeated: %s", got.body)
			}
		})
	}
	t.Run("located in the body", func(t *testing.T) {
		body := "{\"dry_run\": true,\n \"detections\": [\n  {\"class_uid\": 2004, \"class_uid\": 2004}\n ]}"
		off := strings.LastIndex(body, `"class_uid"`)
		want := fmt.Sprintf("line 3, column %d (byte offset %d)", off-strings.LastIndex(body[:off], "\n"), off)
		got := serve(newTestServer(t, &fakeStarter{}).Handler(), post("/v1/detections", "Bearer "+testToken, body))
		if got.code != http.StatusBadRequest || !strings.Contains(got.body, want) {
			t.Errorf("status %d, want 400 locating the duplicate key at %q: %s", got.code, want, got.body)
		}
	})
	t.Run("unknown key located", func(t *testing.T) {
		body := "{\"detections\": [],\n \"dryrun\": true}"
		got := serve(newTestServer(t, &fakeStarter{}).Handler(), post("/v1/detections", "Bearer "+testToken, body))
		if got.code != http.StatusBadRequest || !strings.Contains(got.body, `line 2, column 2 (byte offset 20): unknown key \"dryrun\"`) {
			t.Errorf("status %d: %s", got.code, got.body)
		}
	})
}

// safeModeClient records the safe-mode updates the API sends.
type safeModeClient struct {
	client.Client
	mu   sync.Mutex
	reqs []workflows.SafeModeRequest
}

func (c *safeModeClient) NewWithStartWorkflowOperation(client.StartWorkflowOptions, any, ...any) client.WithStartWorkflowOperation {
	return nil
}

func (c *safeModeClient) UpdateWithStartWorkflow(_ context.Context, o client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = append(c.reqs, o.UpdateOptions.Args[0].(workflows.SafeModeRequest))
	return actionHandle{}, nil
}

func safeModeServer(t *testing.T) (http.Handler, string, *safeModeClient) {
	t.Helper()
	srv, toks, _ := identityServer(t, &fakeStarter{})
	keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("api test decision key, 32 bytes!")})
	if err != nil {
		t.Fatal(err)
	}
	c := &safeModeClient{}
	srv.Temporal, srv.Keys = c, keys
	return srv.Handler(), "Bearer " + toks["approver"], c
}

// "enabled" is required: a body without it turned safe mode off, the
// dangerous direction.
func TestSafeModeNeedsEnabled(t *testing.T) {
	for _, body := range []string{``, `{}`, `{"user":"U0SOCLEAD1"}`, `{"enabled":null}`} {
		t.Run(body, func(t *testing.T) {
			h, tok, c := safeModeServer(t)
			got := serve(h, post("/v1/policy/safe-mode", tok, body))
			if len(c.reqs) != 0 || got.code != http.StatusBadRequest || !strings.Contains(got.body, `\"enabled\" is missing`) {
				t.Errorf("status %d, %d update(s) sent; want 400 naming \"enabled\": %s", got.code, len(c.reqs), got.body)
			}
		})
	}
	h, tok, c := safeModeServer(t)
	if got := serve(h, post("/v1/policy/safe-mode", tok, `{"enabled": false}`)); got.code != http.StatusOK || len(c.reqs) != 1 || c.reqs[0].Enabled {
		t.Errorf("an explicit false: status %d, updates %+v: %s", got.code, c.reqs, got.body)
	}
}

// Control bodies are one JSON object: data after it is refused (it was
// ignored, so {"enabled":true}{"enabled":false} acted on the first), and a
// body over the limit is a 413 (it was a 400 "unexpected EOF").
func TestControlBodiesStrict(t *testing.T) {
	for _, body := range []string{`{"enabled":true}{"enabled":false}`, `{"enabled":true} rm -rf`} {
		h, tok, c := safeModeServer(t)
		got := serve(h, post("/v1/policy/safe-mode", tok, body))
		if got.code != http.StatusBadRequest || len(c.reqs) != 0 || !strings.Contains(got.body, "data after the JSON object") {
			t.Errorf("body %q: status %d, %d update(s) sent; want 400 and none: %s", body, got.code, len(c.reqs), got.body)
		}
	}
	h, tok, _ := safeModeServer(t)
	big := `{"enabled":true,"user":"` + strings.Repeat("U", 70<<10) + `"}`
	if got := serve(h, post("/v1/policy/safe-mode", tok, big)); got.code != http.StatusRequestEntityTooLarge {
		t.Errorf("70 KiB body: status %d, want 413: %s", got.code, got.body)
	}
}

// GET /v1/runs checks shadow and mode as it checks status and outcome: a
// filter it cannot apply is a 400, never a list of every run.
func TestRunsShadowAndModeChecked(t *testing.T) {
	for _, tc := range []struct {
		query, want string // want: "" = 400
	}{
		{"shadow=true", "RunMode = 'shadow'"}, {"shadow=1", "RunMode = 'shadow'"}, {"shadow", "RunMode = 'shadow'"},
		{"mode=dry_run", "RunMode = 'dry_run'"}, {"mode=live", "RunMode = 'live'"},
		{"shadow=yes", ""}, {"mode=shadw", ""}, {"shadow=true&mode=live", ""},
		{"playbook=contain-host", "PlaybookName = 'contain-host'"}, {"playbook=o'brien", ""}, {`playbook=x\`, ""},
		{"kind=rollback&status=running", ""}, {"kind=rollback&shadow=true", ""}, {"kind=rollback", "WorkflowType = 'riposte.rollback'"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			c := &approvalClient{}
			srv := newTestServer(t, &fakeStarter{})
			srv.Temporal = c
			r := httptest.NewRequest("GET", "/v1/runs?"+tc.query, nil)
			r.Header.Set("Authorization", "Bearer "+testToken)
			got := serve(srv.Handler(), r)
			if tc.want == "" {
				if got.code != http.StatusBadRequest || len(c.queries) != 0 {
					t.Errorf("status %d, queries %q; want 400: %s", got.code, c.queries, got.body)
				}
				return
			}
			if got.code != http.StatusOK || len(c.queries) != 1 || !strings.Contains(c.queries[0], tc.want) {
				t.Errorf("status %d, queries %q; want %q", got.code, c.queries, tc.want)
			}
		})
	}
}

// A token file the server cannot read is the server's fault: 503, and the
// caller learns neither the file's path nor the parse error (they go to the
// log).
func TestBrokenTokenStoreIs503WithoutPath(t *testing.T) {
	srv, toks, logs := identityServer(t, &fakeStarter{})
	path := srv.Tokens.Path()
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	for _, tok := range []string{"rpk_guess", toks["reader"]} {
		r := httptest.NewRequest("GET", "/v1/playbooks", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		got := serve(h, r)
		if got.code != http.StatusServiceUnavailable || strings.Contains(got.body, path) || strings.Contains(got.body, "invalid character") {
			t.Errorf("status %d, want 503 without the path or parse error: %s", got.code, got.body)
		}
	}
	if !strings.Contains(logs.String(), "token store unreadable") {
		t.Errorf("the log does not say why:\n%s", logs)
	}
}

// A subject mapped by sub is accepted whatever the email claims look like;
// email_verified as the string "true" (Apple sends it so) counts for the
// email fallback.
func TestOIDCEmailVerifiedForms(t *testing.T) {
	idp := newTestIDP(t)
	h := oidcServer(t, &fakeStarter{}, idp).Handler()
	idp.mu.Lock()
	key := idp.keys["ec-1"]
	idp.mu.Unlock()
	now := time.Now()
	sign := func(claims map[string]any) string {
		claims["iss"], claims["aud"], claims["iat"], claims["exp"] = idp.srv.URL, "riposte-api", now.Unix(), now.Add(time.Hour).Unix()
		return authtest.Sign(t, key, "ec-1", jose.ES256, claims)
	}
	// The mapping has no emails: a verified email reaches the lookup and is
	// "not in the OIDC mapping file"; an unverified one stops before it.
	for name, tc := range map[string]struct {
		claims map[string]any
		code   int
		want   string
	}{
		"sub mapped, email_verified a string":  {map[string]any{"sub": "00u1alice", "email": "alice@example.com", "email_verified": "true"}, 200, ""},
		"sub mapped, email a number":           {map[string]any{"sub": "00u1alice", "email": 7}, 200, ""},
		"email fallback, verified as a string": {map[string]any{"sub": "00uOTHER", "email": "ops@example.com", "email_verified": "true"}, 401, "not in the OIDC mapping file"},
		"email fallback, \"false\"":            {map[string]any{"sub": "00uOTHER", "email": "ops@example.com", "email_verified": "false"}, 401, "email is not verified"},
		"email fallback, not verified":         {map[string]any{"sub": "00uOTHER", "email": "ops@example.com"}, 401, "email is not verified"},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/playbooks", nil)
			r.Header.Set("Authorization", "Bearer "+sign(tc.claims))
			if got := serve(h, r); got.code != tc.code || !strings.Contains(got.body, tc.want) {
				t.Errorf("status %d, want %d and %q: %s", got.code, tc.code, tc.want, got.body)
			}
		})
	}
}

// RFC 7235 §2.1: the auth scheme is case-insensitive.
func TestBearerSchemeAnyCase(t *testing.T) {
	h := newTestServer(t, &fakeStarter{}).Handler()
	for _, scheme := range []string{"Bearer ", "bearer ", "BEARER "} {
		r := httptest.NewRequest("GET", "/v1/playbooks", nil)
		r.Header.Set("Authorization", scheme+testToken)
		if got := serve(h, r); got.code != http.StatusOK {
			t.Errorf("%q + right token: %d %s", scheme, got.code, got.body)
		}
	}
}

// invalidArgClient answers like the Temporal frontend for a run id that is
// not a UUID (service/frontend/validators.go, errInvalidRunID).
type invalidArgClient struct{ client.Client }

func (invalidArgClient) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return nil, serviceerror.NewInvalidArgument("Invalid RunId.")
}

// The frontend refusing a request as invalid is the caller's mistake (400),
// not a failure upstream (502).
func TestInvalidArgumentIs400(t *testing.T) {
	srv := newTestServer(t, &fakeStarter{})
	srv.Temporal = invalidArgClient{}
	r := httptest.NewRequest("GET", "/v1/runs/w1?run_id=not-a-uuid", nil)
	r.Header.Set("Authorization", "Bearer "+testToken)
	if got := serve(srv.Handler(), r); got.code != http.StatusBadRequest || !strings.Contains(got.body, "Invalid RunId") {
		t.Errorf("status %d, want 400 saying why: %s", got.code, got.body)
	}
}
