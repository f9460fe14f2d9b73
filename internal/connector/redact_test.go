package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
)

// awsDocsSecret is the example secret access key of the AWS documentation
// ("Managing access keys for IAM users", wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY).
const awsDocsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

// jwtSample is the example token of RFC 7519 section 3.1.
const jwtSample = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

func TestRedactShapes(t *testing.T) {
	for _, tt := range []struct{ in, gone, keep string }{
		{`{"error":"invalid_token","access_token":"2YotnFZFEjr1zCsicMWpAA"}`, "2YotnFZFEjr1zCsicMWpAA", `"access_token":"[REDACTED]"`},
		{`access_token=2YotnFZFEjr1zCsicMWpAA&token_type=example`, "2YotnFZFEjr1zCsicMWpAA", "token_type=example"},
		{`{"refresh_token": "tGzv3JOkF0XG5Qx2TlKWIA"}`, "tGzv3JOkF0XG5Qx2TlKWIA", `"refresh_token": "[REDACTED]"`},
		{`request had Authorization: Bearer mF_9.B5f-4.1JqM and failed`, "mF_9.B5f-4.1JqM", "and failed"},
		{`header was "Bearer mF_9.B5f-4.1JqM"`, "mF_9.B5f-4.1JqM", "Bearer [REDACTED]"},
		{`Authorization: Basic dXNlcjpwYXNzd29yZA==`, "dXNlcjpwYXNzd29yZA", "Authorization: [REDACTED]"},
		{`invalid signature for ` + jwtSample, "dBjftJeZ4CVP", "invalid signature for [REDACTED]"},
		{`The request signature we calculated does not match (secret ` + awsDocsSecret + `)`, awsDocsSecret, "does not match"},
		{`{"SecretAccessKey":"` + awsDocsSecret + `","AccessKeyId":"AKIAIOSFODNN7EXAMPLE"}`, awsDocsSecret, "AKIAIOSFODNN7EXAMPLE"},
		{`{"client_secret":"Qp8~abc.DEF_ghi-123"}`, "Qp8~abc.DEF_ghi-123", `"client_secret":"[REDACTED]"`},
		{`Okta: SSWS 00QCjAl4MlV-WPXM-ABCDEFGHIJKLMNOPQRSTUVWXYZ`, "00QCjAl4MlV", "SSWS [REDACTED]"},
		{`login failed for {"username":"svc-riposte","password":"Tr0ub4dor&3x"}`, "Tr0ub4dor", `"password":"[REDACTED]"`},
		{`password=hunter2hunter2&user=svc`, "hunter2hunter2", "user=svc"},
		{`{"api_key": "0123456789abcdef0123"}`, "0123456789abcdef0123", `"api_key": "[REDACTED]"`},
		{`X-Api-Key: vt-4f2c9e1b7a`, "vt-4f2c9e1b7a", "X-Api-Key: [REDACTED]"},
		{`apikey=ZXhhbXBsZS1rZXk`, "ZXhhbXBsZS1rZXk", "apikey=[REDACTED]"},
		// Not secrets: kept.
		{`host fin-ws-042 not found`, "", "host fin-ws-042 not found"},
		{`token expired; Bearer realm="api"`, "", `token expired; Bearer realm="api"`},
		{`sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 blocked`, "", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{`device 4e6b4b0d3255bfef95601890afd80709 is offline`, "", "4e6b4b0d3255bfef95601890afd80709"},
		{`AccessDenied: user/alice is not authorized`, "", "user/alice is not authorized"},
	} {
		got := RedactShapes(tt.in)
		if tt.gone != "" && strings.Contains(got, tt.gone) {
			t.Errorf("RedactShapes(%q) = %q: still holds %q", tt.in, got, tt.gone)
		}
		if !strings.Contains(got, tt.keep) {
			t.Errorf("RedactShapes(%q) = %q: lost %q", tt.in, got, tt.keep)
		}
	}
}

// A vendor echoing the OAuth access token Riposte just fetched (and other
// credentials) in a 4xx body: the activity error and the logs never hold
// them — on the call that fetched the token and on a later call that took
// it from the cache.
func TestFetchedTokenAndSecretShapesNeverLeave(t *testing.T) {
	var issued atomic.Int32
	tokenOf := func(n int32) string { return fmt.Sprintf("vt%dQx7OpaqueVendorToken", n) }
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		if r.ParseForm() != nil || r.PostForm.Get("client_secret") != "s3cret-client-value" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tokenOf(issued.Add(1)), "token_type": "Bearer", "expires_in": 3599})
	})
	mux.HandleFunc("GET /api/devices", func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		// The shape of an OAuth error answer (RFC 6750 §3) with a
		// debugging vendor's echo of what it received.
		_ = json.NewEncoder(w).Encode(map[string]any{
			"error":             "invalid_request",
			"error_description": "token " + tok + " is not valid for tenant contoso",
			"debug": map[string]any{
				"authorization": "Bearer " + tok, "id_token": jwtSample,
				"aws": map[string]any{"SecretAccessKey": awsDocsSecret}, "note": "sig " + awsDocsSecret,
			},
		})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	t.Setenv("RIPOSTE_TEST_CLIENT_SECRET", "s3cret-client-value")

	var logs bytes.Buffer
	slogger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env := NewEnv(slogger)
	env.Connections = map[string]Connection{"fake": {Type: "fakevendor", BaseURL: srv.URL,
		Secrets: map[string]SecretRef{"client_secret": {Env: "RIPOSTE_TEST_CLIENT_SECRET"}}}}
	typ := ConnectionType{Name: "fakevendor", Fields: []ConnectionField{{Name: "client_secret", Secret: true, Required: true}}}
	h := Run(typ, "FakeVendor", true, func(ctx context.Context, c *Conn) (map[string]any, error) {
		sec, err := c.Secret("client_secret")
		if err != nil {
			return nil, err
		}
		c.UseClientCredentials(c.BaseURL()+"/oauth2/token", url.Values{"client_id": {"riposte"}, "client_secret": {sec}})
		resp, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/api/devices"})
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("listing devices: %w", c.StatusError(resp, "", ""))
	})

	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slogger))
	act := suite.NewTestActivityEnvironment()
	act.RegisterActivityWithOptions(func(ctx context.Context) (map[string]any, error) {
		out, err := h(ctx, env, Call{Action: "fake.list", Params: map[string]any{"connection": "fake"}, WorkflowID: "wf", StepID: "s"})
		if err != nil {
			activity.GetLogger(ctx).Error("activity failed", "error", err)
		}
		return out, err
	}, activity.RegisterOptions{Name: "fake.list"})

	for attempt := range 2 { // fetches the token, then takes it from the cache
		_, err := act.ExecuteActivity("fake.list")
		if err == nil {
			t.Fatal("the vendor's 400 did not fail the activity")
		}
		msg := err.Error()
		if !strings.Contains(msg, "HTTP 400") || !strings.Contains(msg, "[REDACTED]") || !strings.Contains(msg, "is not valid for tenant contoso") {
			t.Errorf("attempt %d: error lost its meaning: %s", attempt, msg)
		}
		for _, secret := range []string{tokenOf(1), "s3cret-client-value", awsDocsSecret, "dBjftJeZ4CVP", "eyJ0eXAi"} {
			if strings.Contains(msg, secret) {
				t.Errorf("attempt %d: the activity error holds %q: %s", attempt, secret, msg)
			}
			if strings.Contains(logs.String(), secret) {
				t.Errorf("attempt %d: the logs hold %q", attempt, secret)
			}
		}
	}
	if issued.Load() != 1 {
		t.Errorf("%d tokens fetched, want 1 (the second call uses the cache)", issued.Load())
	}
	if !strings.Contains(logs.String(), "activity failed") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
}

// RedactShapes never panics, is idempotent and never lets an
// access_token value through, whatever a vendor sends; nor the value of
// an XML name/value pair whose name is a secret's (either order), nor the
// text of a secret element holding an end tag in a CDATA text, unless
// what comes before opens a CDATA section (the pair is then text, not
// markup); nor
// the text of an XML element named as a secret key, in any of its forms
// (raw, escaped, in CDATA, cut).
func FuzzRedactShapes(f *testing.F) {
	f.Add(`{"access_token":"2YotnFZFEjr1zCsicMWpAA"}`)
	f.Add("Bearer " + jwtSample)
	f.Add("secret " + awsDocsSecret)
	f.Add(`<member><Key>DB_PASSWORD</Key><Value>hunter2secret</Value></member>`)
	f.Add(`<member><Value>s3cr3t</Value><ParameterKey>DbPassword</ParameterKey></member><member><Key>Name</Key><Value>web-01`)
	f.Add(`<add key="ApiKey" value="k-7f3a9c"/><add value='x' name='token'/><add key=\"Password\" value=\"open`)
	f.Add(`&lt;Key&gt;API_KEY&lt;/Key&gt;&lt;Value&gt;abc \u003cname\u003etoken\u003c/name\u003e\u003cvalue\u003e<![CDATA[x`)
	f.Add(`<setting name="ApiKey"><value>abc</value></setting><entry key="db.password">x</entry><a b="<c d='`)
	f.Add(`&lt;password&gt;&lt;![CDATA[x&lt;b&gt;y]]&gt;&lt;/password&gt;\u003cSessionToken\u003e\u003c![CDATA[`)
	f.Add(`{"received":"\u003cns:ClientSecret xmlns:ns=\"urn:x\"\u003eQp8\u003c/ns:ClientSecret\u003e <a b="<![CDATA[ <password>x</pass`)
	f.Add(`&#60;password&#62;x&#60;/password&#62;&amp;lt;add key=&amp;quot;ApiKey&amp;quot; value=&amp;quot;y&amp;quot;/&amp;gt;\u0026lt;Key\u0026gt;`)
	f.Add(`<member><name>password</name><value><string>x</string></value></member><dict><key>Password</key><string>y</string></dict><password><b/>z`)
	f.Add(`&#060;password&#062;x&#060;/password&#062;&#x003C;Key&#x003E;API_KEY&#x003C;/Key&#x003E;&lt;add key=&#039;ApiKey&#039; value=&#039;y&#039;/&gt;&#00060;a b=&amp;#034;`)
	f.Add(`<member><value><string>x</string></value><name>password</name></member><member><value><struct><member><value>y</value><name>token</name></member></struct></value><name>a</name></member><value><b>`)
	f.Add(`<password><value><![CDATA[</password>]]>x</value></password><request><![CDATA[<password><value>y</value>]]></request><note><![CDATA[<password>]]></note>`)
	f.Add(`&#0000060;password&#062;&#060;![CDATA[a]]]]&#062;&#x0003c;![CDATA[&#60;/password&#62;]]&#x3e;&lt;![CDATA[<value>]]&gt;`)
	f.Add(`&amp;#60;password&amp;#62;x&amp;#60;/password&amp;#62;\u0026#x3c;Key\u0026#x3e;API_KEY\u0026#x3c;/Key\u0026#x3e;&#60password&#62y&#x3Cvalue&#x3E&#60`)
	f.Add(`<member><value><string>&lt;value&gt;&lt;b&gt;x</string></value><name>password</name></member><entry key="db.password">p&lt;Q&gt;</entry><dict><key>Password</key><string>&lt;b&gt;`)
	f.Fuzz(func(t *testing.T, s string) {
		once := RedactShapes(s)
		if twice := RedactShapes(once); twice != once {
			t.Errorf("not idempotent: %q -> %q -> %q", s, once, twice)
		}
		tok := "Zq9TokenValue7788"
		if got := RedactShapes(s + `,"access_token":"` + tok + `"`); strings.Contains(got, tok) {
			t.Errorf("access_token kept in %q", got)
		}
		if !strings.Contains(s, "<![CDATA[") {
			val := "Zq9XmlValue4242"
			if got := RedactShapes(s + `<member><Key>API_KEY</Key><Value>` + val + `</Value></member>`); strings.Contains(got, val) {
				t.Errorf("XML pair's value kept in %q", got)
			}
			if got := RedactShapes(s + `<member><value><string>` + val + `</string></value><name>password</name></member>`); strings.Contains(got, val) {
				t.Errorf("XML-RPC value before its name kept in %q", got)
			}
			// An end tag in a CDATA text is text (unless a section
			// opened before makes the "<![CDATA[" text).
			if got := RedactShapes(s + `<password><value><![CDATA[</password>]]>` + val + `</value></password>`); strings.Contains(got, val) {
				t.Errorf("secret element's text kept after a CDATA text in %q", got)
			}
		}
		val := "Zq9XmlSecret4242"
		for _, el := range []string{
			"<password>" + val + "</password>",
			"&lt;password&gt;" + val + "&lt;/password&gt;",
			`\u003cpassword\u003e` + val + `\u003c/password\u003e`,
			"&lt;ns:SessionToken a=&quot;1&quot;&gt;&lt;![CDATA[" + val + "]]&gt;&lt;/ns:SessionToken&gt;",
			`\u003cpassword\u003e\u003c![CDATA[` + val + `]]\u003e\u003c/password\u003e`,
			"<password>" + val,
			"&lt;password&gt;" + val,
			"&#60;password&#62;" + val + "&#60;/password&#62;",
			"&amp;lt;password&amp;gt;" + val + "&amp;lt;/password&amp;gt;",
			`\u0026lt;password\u0026gt;` + val + `\u0026lt;/password\u0026gt;`,
			"<password><value>" + val + "</value></password>",
			"&#060;password&#062;" + val + "&#060;/password&#062;",
			"&#x003C;password&#x003E;&#x003C;![CDATA[" + val + "]]&#x003E;&#x003C;/password&#x003E;",
			"&amp;#60;password&amp;#62;" + val + "&amp;#60;/password&amp;#62;",
			`\u0026#x3c;password\u0026#x3e;` + val + `\u0026#x3c;/password\u0026#x3e;`,
			"&#60password&#62" + val + "&#60/password&#62",
		} {
			if got := RedactShapes(s + el); strings.Contains(got, val) {
				t.Errorf("secret element's text kept in %q", got)
			}
		}
	})
}
