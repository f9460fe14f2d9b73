package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/workflows"
)

// TestServeKeepsServingWhileRemovedFromRotation: on SIGTERM riposte serve
// closed its listener at once. A load balancer (a Kubernetes Service,
// deploy/kubernetes/serve.yaml; any LB with health checks) goes on routing
// new connections to a terminating replica until it has seen it go: a
// Kubernetes endpoint removal reaches kube-proxy seconds after the pod got
// its SIGTERM. Every detection POSTed in that window was refused (connection
// refused), during every rolling update, despite maxUnavailable: 0. serve
// must go on answering for a moment after SIGTERM (not ready: /healthz
// 503, so health-checking balancers take it out), then drain and exit.
func TestServeKeepsServingWhileRemovedFromRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{Namespace: "drain", UIPort: -1, HTTPPort: -1,
		SearchAttributes: workflows.SearchAttributeTypes()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	for _, v := range []string{"RIPOSTE_CODEC_KEY_FILE", "RIPOSTE_DECISION_KEY_FILE", "RIPOSTE_DECISION_KEYS", "RIPOSTE_USER",
		"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "RIPOSTE_OIDC_ISSUER", "RIPOSTE_OIDC_AUDIENCE", "RIPOSTE_OIDC_MAPPING_FILE", "RIPOSTE_OIDC_JWKS_URL"} {
		t.Setenv(v, "")
	}
	t.Setenv("RIPOSTE_CODEC_KEYS", fmt.Sprintf(`{"active":"k1","keys":{"k1":%q}}`, base64.StdEncoding.EncodeToString(key)))
	t.Setenv("RIPOSTE_API_TOKEN", "rpt_drain_test_token_0123456789abcdef")
	var o serveOptions
	o.Temporal.Address, o.Temporal.Namespace, o.Temporal.TaskQueue = srv.FrontendAddress(), "drain", "riposte"
	o.LogLevel = "error"
	o.Playbooks = filepath.Join("..", "..", "playbooks")
	o.HTTP = "127.0.0.1:0"
	o.MaxBody = api.DefaultMaxBody
	o.Config = filepath.Join(t.TempDir(), "none.yaml")
	o.PlaybookInput = "auto"
	o.Rate = rateFlags{PerSecond: 100, Burst: 200}
	o.ShutdownDelay = 2 * time.Second
	var out, errs syncBuffer
	done := make(chan error, 1)
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	go func() { done <- runServe(sctx, o, Streams{Out: &out, Err: &errs}) }()

	urlRe := regexp.MustCompile(`listening on (http://\S+)`)
	var base string
	for deadline := time.Now().Add(60 * time.Second); base == ""; {
		if m := urlRe.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve did not start: %v\n%s", err, errs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start within a minute\n%s", errs.String())
		}
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	if resp, err := hc.Get(base + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("before SIGTERM: /healthz %v %v", resp, err)
	}

	scancel() // SIGTERM
	time.Sleep(300 * time.Millisecond)
	// A connection the balancer still routes here, 0.3 s after SIGTERM.
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/playbooks", nil)
	req.Header.Set("Authorization", "Bearer rpt_drain_test_token_0123456789abcdef")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("0.3 s after SIGTERM, a request the load balancer still sends here failed: %v (the listener was closed at once: requests routed before the replica left the rotation are lost)", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("0.3 s after SIGTERM: GET /v1/playbooks %d, want 200 (still serving)", resp.StatusCode)
	}
	if resp, err := hc.Get(base + "/healthz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("after SIGTERM /healthz should say 503 (shutting down: take me out), got %v %v", resp, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit within 30 s of SIGTERM")
	}
	if _, err := hc.Get(base + "/healthz"); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("after exit: %v", err)
	}
}
