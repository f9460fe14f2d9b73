package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/workflows"
)

// TestBuildInfoNamesEachProcess: deploy/prometheus/alerts.yml's "no worker
// / no API at all" alerts were absent(up{job="riposte-worker"}) and
// absent(up{job="riposte-serve"}): they fired all the time for anyone
// scraping Riposte under other job names (Kubernetes pod discovery's
// kubernetes-pods, from deploy/kubernetes's prometheus.io/scrape
// annotations). They now read absent(riposte_build_info{process="worker"})
// and {process="serve"}, so each process's /metrics must export that
// series with its own process label, whatever job scrapes it. This runs
// riposte worker and riposte serve against an embedded Temporal server and
// scrapes their metrics listeners, then riposte dev's.
func TestBuildInfoNamesEachProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{Namespace: "buildinfo", UIPort: -1, HTTPPort: -1,
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
	t.Setenv("RIPOSTE_API_TOKEN", "rpt_build_info_test_token_0123456789ab")

	cluster := func(metrics string) clusterFlags {
		var f clusterFlags
		f.Temporal.Address, f.Temporal.Namespace, f.Temporal.TaskQueue = srv.FrontendAddress(), "buildinfo", "riposte"
		f.LogLevel = "error"
		f.Observe.MetricsAddr = metrics
		return f
	}
	workerMetrics, serveMetrics := freeAddr(t), freeAddr(t)
	wo := workerOptions{clusterFlags: cluster(workerMetrics)}
	wo.Runtime.Config = filepath.Join(t.TempDir(), "none.yaml")
	wo.Runtime.StickyCache = 10
	so := serveOptions{clusterFlags: cluster(serveMetrics)}
	so.Playbooks = filepath.Join("..", "..", "playbooks")
	so.HTTP = "127.0.0.1:0"
	so.MaxBody = api.DefaultMaxBody
	so.Config = filepath.Join(t.TempDir(), "none.yaml")
	so.PlaybookInput = "auto"
	so.Rate = rateFlags{PerSecond: 100, Burst: 200}

	pctx, pcancel := context.WithCancel(ctx)
	var wout, werr, sout, serr syncBuffer
	wdone, sdone := make(chan error, 1), make(chan error, 1)
	go func() { wdone <- runWorker(pctx, wo, Streams{Out: &wout, Err: &werr}) }()
	go func() { sdone <- runServe(pctx, so, Streams{Out: &sout, Err: &serr}) }()
	defer func() { pcancel(); <-wdone; <-sdone }()

	for _, c := range []struct {
		process, addr string
		done          chan error
		errs          *syncBuffer
	}{
		{"worker", workerMetrics, wdone, &werr},
		{"serve", serveMetrics, sdone, &serr},
	} {
		checkBuildInfo(t, c.process, scrapeProcess(t, c.process, c.addr, c.done, c.errs))
	}

	// riposte dev (worker and API in one process, its own embedded
	// server) says dev: neither alert counts it.
	t.Setenv("RIPOSTE_API_TOKEN", "")
	d, err := StartDev(ctx, DevOptions{DataDir: t.TempDir(), Playbooks: filepath.Join("..", "..", "playbooks"),
		TemporalHTTPPort: -1, UIPort: -1, HTTP: "0", MaxBody: api.DefaultMaxBody, LogLevel: "error",
		Observe: observeFlags{MetricsAddr: "127.0.0.1:0"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("riposte dev: %v", err)
	}
	defer d.Close()
	checkBuildInfo(t, "dev", scrapeProcess(t, "dev", strings.TrimPrefix(d.MetricsURL, "http://"), nil, nil))
}

// checkBuildInfo wants exactly one riposte_build_info{process,version,
// go_version} = 1 naming process in a scrape of its /metrics.
func checkBuildInfo(t *testing.T, process string, fams map[string]*dto.MetricFamily) {
	t.Helper()
	f, ok := fams["riposte_build_info"]
	if !ok {
		t.Errorf("riposte %s: no riposte_build_info on its /metrics: absent(riposte_build_info{process=%q}) fires while it runs", process, process)
		return
	}
	if f.GetType() != dto.MetricType_GAUGE || f.GetHelp() == "" {
		t.Errorf("riposte %s: riposte_build_info is a %v with help %q, want a gauge with help", process, f.GetType(), f.GetHelp())
	}
	if len(f.GetMetric()) != 1 {
		t.Errorf("riposte %s: %d riposte_build_info series, want 1", process, len(f.GetMetric()))
		return
	}
	m := f.GetMetric()[0]
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	want := map[string]string{"process": process, "version": buildVersion(), "go_version": runtime.Version()}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("riposte %s: riposte_build_info labels %v, want %v", process, got, want)
	}
	if v := m.GetGauge().GetValue(); v != 1 {
		t.Errorf("riposte %s: riposte_build_info = %v, want 1", process, v)
	}
}

// scrapeProcess GETs http://addr/metrics until the process's metrics
// listener answers (failing if the process returns first on done, when
// given) and parses it.
func scrapeProcess(t *testing.T, process, addr string, done chan error, errs *syncBuffer) map[string]*dto.MetricFamily {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := c.Get("http://" + addr + "/metrics")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				var p expfmt.TextParser
				fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
				if err != nil {
					t.Fatalf("riposte %s: parsing /metrics: %v\n%s", process, err, body)
				}
				return fams
			}
			err = fmt.Errorf("%d %s", resp.StatusCode, body)
		}
		if done != nil {
			select {
			case e := <-done:
				done <- e // for the deferred wait
				t.Fatalf("riposte %s returned before its /metrics answered: %v\n%s", process, e, errs.String())
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("riposte %s: GET /metrics: %v after a minute", process, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
