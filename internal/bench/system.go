package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/burst"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// Playbook names and the detector names their triggers match.
const (
	ReferencePlaybook = "bench-reference"
	ParkedPlaybook    = "bench-parked"
	referenceProduct  = "Riposte Bench"
	parkedProduct     = "Riposte Bench Parked"
	approver          = "bench-approver"
	// baselinePath is the baseline's intake route on the same HTTP server.
	baselinePath = "/v1/bench/baseline/detections"
)

// referenceYAML is the reference playbook: enrich, condition (the `if:` on
// the enrichment), contain with approval: auto, ticket, notify; every
// action against the lab's fake vendors.
const referenceYAML = `apiVersion: riposte/v1
name: bench-reference
version: 1
description: Reference playbook of riposte bench.
owner: bench
trigger:
  when: detection.metadata.product.name == "Riposte Bench"
steps:
  - id: enrich
    action: virustotal.ip_report
    with: {ip: "${{ detection.dst_endpoint.ip }}"}
  - id: contain
    action: crowdstrike.contain_host
    needs: [enrich]
    if: steps.enrich.output.malicious > 0
    with: {hostname: "${{ detection.device.hostname }}"}
    approval: auto
  - id: ticket
    action: jira.create_issue
    needs: [contain]
    with:
      summary: "C2 beaconing from ${{ detection.device.hostname }} (${{ detection.finding_info.uid }})"
      description: "Containment: ${{ steps.contain.status }}"
      labels: [riposte, bench]
  - id: notify
    action: pagerduty.trigger
    needs: [ticket]
    with:
      summary: "Host ${{ detection.device.hostname }} contained; ticket ${{ steps.ticket.output.key }}"
      source: ${{ detection.device.hostname }}
      severity: critical
outputs:
  contained: steps.contain.status == "succeeded"
`

// parkedYAML gates a containment behind a human approval.
const parkedYAML = `apiVersion: riposte/v1
name: bench-parked
version: 1
description: Parked approvals of riposte bench.
owner: bench
trigger:
  when: detection.metadata.product.name == "Riposte Bench Parked"
steps:
  - id: contain
    action: crowdstrike.contain_host
    with: {hostname: "${{ detection.device.hostname }}"}
    approval:
      approvers: {users: [bench-approver]}
      timeout: 4h
`

// system is the whole of riposte dev, assembled in process: embedded
// Temporal on a durable SQLite file, the worker (with the probe and the
// baseline workflow registered on it), the vendor lab and the HTTP API
// (with the baseline's intake route).
type system struct {
	dir     string
	server  *devserver.Server
	client  client.Client
	lab     *lab.Lab
	worker  worker.Worker
	http    *http.Server
	url     string
	token   string
	probe   *probe
	closers []func()
	// closing silences the errors services log while shutting down.
	closing atomic.Bool
}

func (s *system) Close() {
	s.closing.Store(true)
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// startSystem brings everything up in dir (created if needed).
func startSystem(ctx context.Context, dir string, o Options, progress *slog.Logger) (_ *system, err error) {
	// The system logs at info as riposte dev does (records are formatted,
	// which costs what it costs in riposte dev) but not printed: stderr
	// carries the benchmark's progress. Errors still show.
	s := &system{dir: dir, probe: newProbe(), token: "bench-token"}
	logger := slog.New(teeHandler{
		all:    slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}),
		errors: progress.Handler(),
		quiet:  &s.closing,
	})
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	pbDir := filepath.Join(dir, "playbooks")
	if err := os.MkdirAll(pbDir, 0o700); err != nil {
		return nil, err
	}
	for name, src := range map[string]string{"reference.yaml": referenceYAML, "parked.yaml": parkedYAML, "burst.yaml": burst.Playbook} {
		if err := os.WriteFile(filepath.Join(pbDir, name), []byte(src), 0o600); err != nil {
			return nil, err
		}
	}
	set, _, diags := playbook.Load([]string{pbDir}, activities.Catalog())
	if len(diags) > 0 {
		return nil, fmt.Errorf("bench playbooks are invalid: %w", diags)
	}
	dataDir := filepath.Join(dir, "data")
	keys, _, err := codec.EnsureDevKeyring(dataDir)
	if err != nil {
		return nil, err
	}
	var tc config.Temporal
	if o.Temporal != "" {
		// An external cluster: the namespace must be the benchmark's own
		// (no other worker polls its task queue).
		tc = config.Temporal{Address: o.Temporal, Namespace: o.Namespace, TaskQueue: workflows.DefaultTaskQueue}
	} else {
		srv, err := devserver.Start(ctx, devserver.Options{
			DataDir:          dataDir,
			UIPort:           -1,
			HTTPPort:         -1,
			SearchAttributes: workflows.SearchAttributeTypes(),
			Logger:           logger,
			DynamicConfig:    o.DynamicConfig,
		})
		if err != nil {
			return nil, err
		}
		s.server = srv
		s.closers = append(s.closers, func() { _ = srv.Stop() })
		tc = config.Temporal{Address: srv.FrontendAddress(), Namespace: srv.Namespace(), TaskQueue: workflows.DefaultTaskQueue}
	}
	c, err := tc.Dial(ctx, logger, func(co *client.Options) {
		codec.ConfigureClientOptions(co, keys)
		if !o.GRPCCompression {
			co.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
		}
	})
	if err != nil {
		return nil, err
	}
	s.client = c
	s.closers = append(s.closers, c.Close)
	if s.server == nil {
		if err := engine.CheckSearchAttributes(ctx, c, tc.Namespace, false); err != nil {
			return nil, fmt.Errorf("%w (prepare it: riposte setup --temporal-address %s --namespace %s)", err, tc.Address, tc.Namespace)
		}
	}

	l, err := lab.Start(lab.Options{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("starting the vendor lab: %w", err)
	}
	s.lab = l
	s.closers = append(s.closers, func() { _ = l.Close() })
	env := activities.NewEnv(logger)
	env.Connections = l.Connections()
	// No rules until the burst phase writes its budgets.
	if err := writePolicy(dir, ""); err != nil {
		return nil, err
	}
	g, err := activities.NewGuardrails(c, tc.TaskQueue, policyPath(dir), logger)
	if err != nil {
		return nil, err
	}
	if o.Temporal != "" {
		// Budget guards of this run's own, on its task queue: a shared
		// namespace may hold the guards (and budgets) of earlier runs.
		g.Budgets.IDSuffix = "-" + tc.TaskQueue
	}
	wo := o.Worker
	wo.Interceptors = append([]interceptor.WorkerInterceptor{s.probe}, wo.Interceptors...)
	dkeys := signing.FromCodec(keys)
	w, err := engine.NewWorker(c, engine.WorkerOptions{TaskQueue: tc.TaskQueue, Env: env, Guardrails: g, Worker: wo, Keys: dkeys})
	if err != nil {
		return nil, err
	}
	w.RegisterWorkflowWithOptions(Baseline, workflow.RegisterOptions{Name: BaselineWorkflow})
	w.RegisterWorkflowWithOptions(BaselineParked, workflow.RegisterOptions{Name: BaselineParkedWorkflow})
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("starting worker: %w", err)
	}
	s.worker = w
	s.closers = append(s.closers, w.Stop)

	validator, err := intake.NewValidator()
	if err != nil {
		return nil, err
	}
	disp := &dispatch.Dispatcher{Client: c, TaskQueue: tc.TaskQueue, Namespace: tc.Namespace}
	disp.SetPlaybooks(set)
	a := &api.Server{
		Dispatcher: disp,
		Temporal:   c,
		Validator:  validator,
		Token:      s.token,
		MaxBody:    api.DefaultMaxBody,
		Namespace:  tc.Namespace,
		// The audit record of every call is formatted, as in riposte dev,
		// but not printed.
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		RateLimit: o.RateLimit,
		Approvals: &approvals.Service{Client: c, Namespace: tc.Namespace, Keys: dkeys},
		Keys:      dkeys,
		// The bench's token decides as its playbooks' approver.
		DevUser: "bench-approver",
		// Behind the same token check as POST /v1/detections.
		Extra: map[string]http.Handler{
			"POST " + baselinePath: &baselineHandler{client: c, taskQueue: tc.TaskQueue, validator: validator, maxBody: api.DefaultMaxBody},
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	// The same server settings as riposte dev's API.
	hs := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	s.http, s.url = hs, "http://"+ln.Addr().String()
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			progress.Error("bench API stopped", "error", err)
		}
	}()
	s.closers = append(s.closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	})
	return s, nil
}

// teeHandler formats every record at info with its first handler and
// passes errors on to the second.
type teeHandler struct {
	all    slog.Handler
	errors slog.Handler
	quiet  *atomic.Bool
}

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool { return t.all.Enabled(ctx, l) }

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	err := t.all.Handle(ctx, r)
	if r.Level >= slog.LevelError && !t.quiet.Load() && t.errors.Enabled(ctx, r.Level) {
		_ = t.errors.Handle(ctx, r.Clone())
	}
	return err
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{t.all.WithAttrs(as), t.errors.WithAttrs(as), t.quiet}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t.all.WithGroup(name), t.errors.WithGroup(name), t.quiet}
}
