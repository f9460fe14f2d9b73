package activities_test

// Vendor answers the lab does not give, from one-off httptest servers.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connector"
)

// vendorServer is a one-off fake for answers the lab does not give.
func vendorServer(t *testing.T, h http.HandlerFunc) (*activities.Env, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	env := activities.NewEnv(nil)
	return env, srv.URL
}

func runHandler(t *testing.T, env *activities.Env, action string, params map[string]any) (map[string]any, error) {
	t.Helper()
	for _, d := range activities.Definitions() {
		if d.Name == action {
			return d.Run(context.Background(), env, activities.Call{Action: action, Params: params, IdempotencyKey: "k", WorkflowID: "wf", StepID: "s"})
		}
	}
	t.Fatalf("no action %s", action)
	return nil, nil
}

func errType(err error) (string, bool) {
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		return "", false
	}
	return ae.Type(), ae.NonRetryable()
}

func TestSentinelOneAffectedZeroIsAFailure(t *testing.T) {
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			fmt.Fprint(w, `{"data":[{"id":"1","computerName":"h1","networkStatus":"connected"}]}`)
			return
		}
		fmt.Fprint(w, `{"data":{"affected":0}}`)
	})
	env.Connections["sentinelone"] = activities.Connection{Type: "sentinelone", BaseURL: url, Secrets: map[string]activities.SecretRef{"api_token": {Lab: "t0ken"}}}
	_, err := runHandler(t, env, "sentinelone.disconnect_agent", map[string]any{"hostname": "h1"})
	if typ, nr := errType(err); typ != connector.KindVendorError || !nr || !strings.Contains(err.Error(), "affected 0 agents") {
		t.Fatalf("err = %v", err)
	}
}

func TestDefenderAlreadyInProgressIsSuccess(t *testing.T) {
	var posts int
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/token"):
			fmt.Fprint(w, `{"access_token":"at","expires_in":3600}`)
		case r.URL.Path == "/api/machines":
			fmt.Fprint(w, `{"value":[{"id":"m1","computerDnsName":"h1.corp"}]}`)
		case r.URL.Path == "/api/machineactions" && posts == 0:
			fmt.Fprint(w, `{"value":[]}`)
		case r.URL.Path == "/api/machineactions":
			// The isolation already in progress (a concurrent or earlier
			// request, not yet listed when the state was checked).
			fmt.Fprint(w, `{"value":[{"id":"a1","type":"Isolate","status":"InProgress","machineId":"m1","creationDateTimeUtc":"2026-01-01T00:00:00Z"}]}`)
		default:
			posts++
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"code":"BadRequest","message":"Action is already in progress"}}`)
		}
	})
	env.Connections["defender"] = activities.Connection{Type: "defender", BaseURL: url,
		Options: map[string]string{"client_id": "c", "token_url": url + "/token"}, Secrets: map[string]activities.SecretRef{"client_secret": {Lab: "s3cret"}}}
	out, err := runHandler(t, env, "defender.isolate_machine", map[string]any{"hostname": "h1"})
	if err != nil || out["already"] != true || out["hostname"] != "h1.corp" || posts != 1 {
		t.Fatalf("out = %v, err = %v, posts = %d", out, err, posts)
	}
}

func TestPANOSErrorInside200(t *testing.T) {
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Header.Get("X-PAN-KEY") != "k3y-value" || r.Form.Get("key") != "" {
			t.Errorf("api key not sent in the X-PAN-KEY header only")
		}
		if r.Form.Get("type") == "op" {
			fmt.Fprint(w, `<response status="success"><result><count>0</count></result></response>`)
			return
		}
		fmt.Fprint(w, `<response status="error"><msg><line><uid-response><payload><register><entry ip="1.2.3.4" message="Failed to register: vsys3 not found"/></register></payload></uid-response></line></msg></response>`)
	})
	env.Connections["panos"] = activities.Connection{Type: "panos", BaseURL: url, Secrets: map[string]activities.SecretRef{"api_key": {Lab: "k3y-value"}}}
	_, err := runHandler(t, env, "panos.block_ip", map[string]any{"ip": "1.2.3.4"})
	if typ, nr := errType(connector.ToActivityError(err, nil)); typ != connector.KindVendorError || !nr || !strings.Contains(err.Error(), "vsys3 not found") {
		t.Fatalf("err = %v", err)
	}
}

func TestCrowdStrikeErrorsInside202(t *testing.T) {
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth2/token":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"access_token":"at","expires_in":1799}`)
		case "/devices/queries/devices/v1":
			fmt.Fprint(w, `{"resources":["a1"],"errors":[]}`)
		case "/devices/entities/devices/v2":
			fmt.Fprint(w, `{"resources":[{"device_id":"a1","hostname":"h1","status":"normal"}],"errors":[]}`)
		default:
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"resources":[],"errors":[{"code":409,"message":"Device is in a state that does not allow containment"}]}`)
		}
	})
	env.Connections["crowdstrike"] = activities.Connection{Type: "crowdstrike", BaseURL: url,
		Options: map[string]string{"client_id": "c"}, Secrets: map[string]activities.SecretRef{"client_secret": {Lab: "s3cret"}}}
	_, err := runHandler(t, env, "crowdstrike.contain_host", map[string]any{"hostname": "h1"})
	if !strings.Contains(err.Error(), "does not allow containment") {
		t.Fatalf("err = %v", err)
	}
}

func TestTransportFailuresAreRetryable(t *testing.T) {
	// Timeout: the vendor does not answer within CallTimeout.
	block := make(chan struct{})
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) { <-block })
	defer close(block)
	env.CallTimeout = 100 * time.Millisecond
	env.Connections["virustotal"] = activities.Connection{Type: "virustotal", BaseURL: url, Secrets: map[string]activities.SecretRef{"api_key": {Lab: "k"}}}
	_, err := runHandler(t, env, "virustotal.ip_report", map[string]any{"ip": "8.8.8.8"})
	err = connector.ToActivityError(err, nil)
	if typ, nr := errType(err); typ != connector.KindNetwork || nr || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("timeout: %v", err)
	}
	// Connection refused.
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL
	srv.Close()
	env.Connections["virustotal"] = activities.Connection{Type: "virustotal", BaseURL: dead, Secrets: map[string]activities.SecretRef{"api_key": {Lab: "k"}}}
	_, err = runHandler(t, env, "virustotal.ip_report", map[string]any{"ip": "8.8.8.8"})
	if typ, nr := errType(connector.ToActivityError(err, nil)); typ != connector.KindNetwork || nr {
		t.Fatalf("refused: %v", err)
	}
}

func TestNoCrossOriginRedirects(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("redirect followed to another origin, with key header %q", r.Header.Get("x-apikey"))
	}))
	defer other.Close()
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
	})
	env.Connections["virustotal"] = activities.Connection{Type: "virustotal", BaseURL: url, Secrets: map[string]activities.SecretRef{"api_key": {Lab: "k3y"}}}
	if _, err := runHandler(t, env, "virustotal.ip_report", map[string]any{"ip": "8.8.8.8"}); err == nil {
		t.Fatal("a redirect to another origin should fail")
	}
}

func TestVendorEchoedSecretIsRedacted(t *testing.T) {
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"errorCode":"E0000001","errorSummary":"bad token %s"}`, strings.TrimPrefix(r.Header.Get("Authorization"), "SSWS "))
	})
	env.Connections["okta"] = activities.Connection{Type: "okta", BaseURL: url, Secrets: map[string]activities.SecretRef{"api_token": {Lab: "very-secret-token"}}}
	_, err := runHandler(t, env, "okta.clear_user_sessions", map[string]any{"user": "u"})
	if err == nil || strings.Contains(err.Error(), "very-secret-token") || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Fatalf("err = %v", err)
	}
}
