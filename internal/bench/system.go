package bench

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/burst"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/lab"
	rsystem "github.com/riposte-dev/riposte/internal/system"
	"github.com/riposte-dev/riposte/workflows"
)

// Playbook names and the detector names their triggers match.
const (
	ReferencePlaybook = "bench-reference"
	ParkedPlaybook    = "bench-parked"
	referenceProduct  = "Riposte Bench"
	parkedProduct     = "Riposte Bench Parked"
	approver          = "UBENCHAPPROVER"
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
      approvers: {users: [UBENCHAPPROVER]}
      timeout: 4h
`

// system is the whole of riposte dev, assembled in process by the
// composition root (internal/system): embedded Temporal on a durable
// SQLite file (or an external cluster), the worker (with the probe and the
// baseline workflow registered on it), the vendor lab and the HTTP API
// (with the baseline's intake route).
type system struct {
	*rsystem.System
	dir    string
	server *devserver.Server
	client client.Client
	lab    *lab.Lab
	url    string
	token  string
	probe  *probe
	// validator checks the baseline's detections as the API does.
	validator *intake.Validator
	// closing silences the errors services log while shutting down.
	closing atomic.Bool
}

func (s *system) Close() {
	s.closing.Store(true)
	if s.System != nil {
		s.System.Close()
	}
}

// startSystem brings everything up in dir (created if needed).
func startSystem(ctx context.Context, dir string, o Options, progress *slog.Logger) (*system, error) {
	// The system logs at info as riposte dev does (records are formatted,
	// which costs what it costs in riposte dev) but not printed: stderr
	// carries the benchmark's progress. Errors still show.
	s := &system{dir: dir, probe: newProbe(), token: "bench-token"}
	logger := slog.New(teeHandler{
		all:    slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}),
		errors: progress.Handler(),
		quiet:  &s.closing,
	})
	pbDir := filepath.Join(dir, "playbooks")
	if err := os.MkdirAll(pbDir, 0o700); err != nil {
		return nil, err
	}
	for name, src := range map[string]string{"reference.yaml": referenceYAML, "parked.yaml": parkedYAML, "burst.yaml": burst.Playbook} {
		if err := os.WriteFile(filepath.Join(pbDir, name), []byte(src), 0o600); err != nil {
			return nil, err
		}
	}
	dataDir := filepath.Join(dir, "data")
	keys, _, err := codec.EnsureDevKeyring(dataDir)
	if err != nil {
		return nil, err
	}
	// No rules until the burst phase writes its budgets.
	if err := writePolicy(dir, ""); err != nil {
		return nil, err
	}
	ro := rsystem.Options{
		Logger:            logger,
		Keys:              keys,
		NoGRPCCompression: !o.GRPCCompression,
		// As riposte dev: nothing older reads these payloads.
		PayloadCompression: !o.NoPayloadCompression,
		Slack:              rsystem.SlackOff,
		// As riposte dev: every playbook version kept by digest in the
		// data dir, runs refer to theirs (unless --inline-playbooks).
		PlaybookStore: filepath.Join(dataDir, "playbook-store"),
		Worker: &rsystem.WorkerOptions{
			Lab: rsystem.LabAlways, Policy: policyPath(dir), StickyCache: o.StickyCache,
			Worker: o.Worker,
			Register: func(w worker.Worker) {
				w.RegisterWorkflowWithOptions(Baseline, workflow.RegisterOptions{Name: BaselineWorkflow})
				w.RegisterWorkflowWithOptions(BaselineParked, workflow.RegisterOptions{Name: BaselineParkedWorkflow})
			},
		},
		API: &rsystem.APIOptions{
			Addr: "0", Token: s.token, MaxBody: api.DefaultMaxBody, Playbooks: []string{pbDir}, RateLimit: o.RateLimit,
			// The audit record of every call is formatted, as in riposte
			// dev, but not printed.
			AuditLogger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			// The bench's token decides as its playbooks' approver.
			DevUser:       approver,
			PlaybookInput: playbookInput(o.InlinePlaybooks),
			// Behind the same token check as POST /v1/detections.
			Extra: func(sys *rsystem.System) map[string]http.Handler {
				return map[string]http.Handler{
					"POST " + baselinePath: &baselineHandler{client: sys.Client, taskQueue: sys.Temporal.TaskQueue, validator: s.validator, maxBody: api.DefaultMaxBody},
				}
			},
		},
	}
	ro.Worker.Worker.Interceptors = append([]interceptor.WorkerInterceptor{s.probe}, o.Worker.Interceptors...)
	if o.Temporal != "" {
		// An external cluster: the namespace must be the benchmark's own
		// (no other worker polls its task queue), and so are its budget
		// guards (a shared namespace may hold those of earlier runs).
		ro.Temporal = config.Temporal{Address: o.Temporal, Namespace: o.Namespace, TaskQueue: workflows.DefaultTaskQueue}
		ro.Worker.BudgetIDSuffix = "-" + workflows.DefaultTaskQueue
	} else {
		ro.Embedded = &rsystem.EmbeddedOptions{DataDir: dataDir, UIPort: -1, HTTPPort: -1, DynamicConfig: o.DynamicConfig}
	}
	if s.validator, err = intake.NewValidator(); err != nil {
		return nil, err
	}
	sys, err := rsystem.Start(ctx, ro)
	if err != nil {
		return nil, err
	}
	s.System, s.server, s.client, s.lab, s.url = sys, sys.Server, sys.Client, sys.Lab, sys.API.URL
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

// playbookInput is how the bench's runs carry their playbook.
func playbookInput(inline bool) string {
	if inline {
		return "inline"
	}
	return "reference"
}
