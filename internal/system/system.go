// Package system is Riposte's one composition root: it builds a running
// system — an embedded Temporal server or a connection to an external
// cluster, the payload codec, telemetry, the worker (with the vendor lab
// and Slack, real or fake) and the HTTP API — from one Options struct.
//
// riposte dev, serve and worker, riposte bench and the system tests all
// start through Start with different options; nothing else wires these
// parts together.
package system

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/internal/pbstore"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/telemetry"
	"github.com/riposte-dev/riposte/workflows"
)

// Options choose what Start builds. A nil Worker or API leaves that part
// out (serve has no worker, worker no API).
type Options struct {
	// Logger receives every component's logs (nil = discard).
	Logger *slog.Logger
	// Embedded, when set, runs Temporal in this process; else Temporal is
	// the external cluster to dial.
	Embedded *EmbeddedOptions
	Temporal config.Temporal
	// RegisterSearchAttributes adds Riposte's search attributes to an
	// external namespace when missing (else their absence refuses start).
	RegisterSearchAttributes bool
	// Keys encrypt payloads (nil = clear text). DecisionKeys seal human
	// decisions; nil derives them from Keys.
	Keys         *codec.Keyring
	DecisionKeys *signing.Keys
	// PayloadCompression compresses payloads before encrypting them
	// (codec.Options.Compress).
	PayloadCompression bool
	// NoGRPCCompression turns the SDK's gzip off (a server over loopback).
	NoGRPCCompression bool
	// Telemetry, when set, sets up tracing, the metrics registry and its
	// optional listener; nil = none (riposte bench measures without it).
	Telemetry *TelemetryOptions
	// Slack chooses where approval requests go.
	Slack SlackMode
	// PlaybookStore is the directory keeping every playbook version by
	// digest (internal/pbstore), shared by the API (which adds what it
	// loads) and the workers (which load the version a run refers to);
	// "" keeps them in memory only. riposte dev: <data-dir>/playbook-store.
	PlaybookStore string
	Worker        *WorkerOptions
	API           *APIOptions
}

// EmbeddedOptions configure the in-process Temporal server.
type EmbeddedOptions struct {
	// DataDir holds the SQLite database.
	DataDir string
	// Ports: 0 picks a free port, -1 turns the listener off (UI, HTTP).
	FrontendPort, UIPort, HTTPPort int
	// DynamicConfig overrides server settings (riposte bench).
	DynamicConfig map[string]any
}

// TelemetryOptions configure tracing (OTEL_* environment) and metrics.
type TelemetryOptions struct {
	// Service names the process in traces.
	Service string
	// Process and Version label riposte_build_info
	// (telemetry.MetricsOptions): telemetry.ProcessWorker, ProcessServe or
	// ProcessDev, and the build's version.
	Process, Version string
	// MetricsAddr, when set, serves /metrics and /readyz on its own
	// listener: port or host:port.
	MetricsAddr string
}

// SlackMode says where approval requests are posted.
type SlackMode int

const (
	// SlackFromEnv uses the SLACK_* environment (off without a bot token).
	SlackFromEnv SlackMode = iota
	// SlackFakeWithoutToken runs the Slack fake and its page /lab/slack
	// when SLACK_BOT_TOKEN is not set (riposte dev).
	SlackFakeWithoutToken
	// SlackOff posts nowhere: decisions through API and CLI only.
	SlackOff
)

// Error is a refusal to start with the exit code it calls for: 2 for bad
// settings, 1 for invalid files.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// System is a running Riposte.
type System struct {
	// Server is the embedded Temporal server (nil with an external one).
	Server *devserver.Server
	// Temporal is where the client is connected.
	Temporal     config.Temporal
	Client       client.Client
	Keys         *codec.Keyring
	DecisionKeys *signing.Keys
	// Metrics is nil without Telemetry; MetricsServer nil without its
	// listener.
	Metrics       *telemetry.Metrics
	MetricsServer *telemetry.MetricsServer
	// SlackSocket is the Slack Socket Mode connection's health; nil
	// without Socket Mode.
	SlackSocket *slackapp.SocketState
	// Lab is the vendor lab (nil when connections come from riposte.yaml).
	Lab *lab.Lab
	// Worker is the started worker and Policy the policy file it enforces
	// ("" = none).
	Worker worker.Worker
	Policy string
	// API is the started HTTP API.
	API *API
	// Playbooks keeps every playbook version the API loaded or the worker
	// found, by digest (nil without API and worker).
	Playbooks *pbstore.Store
	// CodecSession is the secret in the embedded UI's codec endpoint.
	CodecSession string
	// SlackFake is true when approvals go to the Slack fake (/lab/slack).
	SlackFake bool
	slack     slackapp.Config
	slackLab  http.Handler
	// dataConverter is the client's (the codec's when Keys are set).
	dataConverter converter.DataConverter
	// workerDone receives the error that stopped the worker for good.
	workerDone chan error
	logger     *slog.Logger
	closers    []func()
}

// Close stops everything in reverse start order.
func (s *System) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// Start builds and starts the system; on error everything started is
// stopped again.
func Start(ctx context.Context, o Options) (_ *System, err error) {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &System{Keys: o.Keys, logger: logger}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	// Check what is cheap before starting anything heavy: a bad playbook
	// or address must not cost a server start to find out.
	var api *apiBuild
	if o.API != nil {
		if api, err = prepareAPI(*o.API, logger); err != nil {
			return nil, err
		}
		s.closers = append(s.closers, api.closeListener)
	}
	if s.DecisionKeys, err = DecisionKeys(o.Keys, o.DecisionKeys); err != nil {
		return nil, err
	}
	s.Temporal = o.Temporal
	if s.Temporal.TaskQueue == "" {
		s.Temporal.TaskQueue = workflows.DefaultTaskQueue
	}
	// The worker's files, the playbook store and the SLACK_* settings are
	// local too: a mistake in them is reported now, not after connecting
	// to Temporal, where an unreachable cluster would hide it behind a
	// connection error.
	var wb *workerBuild
	if o.Worker != nil {
		if wb, err = prepareWorker(*o.Worker, logger); err != nil {
			return nil, err
		}
	}
	if err := checkSlackEnv(o.Slack, api != nil); err != nil {
		return nil, err
	}
	if o.Worker != nil || api != nil {
		var paths []string
		if o.Worker != nil {
			paths = o.Worker.Playbooks
		}
		pbs, err := pbstore.New(activities.Catalog(), pbstore.Options{Dir: o.PlaybookStore, Paths: paths})
		if err != nil && pbs == nil {
			return nil, &Error{Code: 2, Err: fmt.Errorf("--playbook-store (or RIPOSTE_PLAYBOOK_STORE): %w", err)}
		}
		if err != nil {
			// serve refuses invalid playbooks, so no new run refers to
			// them (one an earlier release validated is kept for the runs
			// in flight: pbstore.Scan).
			logger.Warn("some playbooks were not loaded into the playbook store", "error", err.Error())
		}
		if api != nil {
			// serve writes every version it loads: a store it cannot
			// write to is refused now.
			if err := pbs.AddSet(api.set); err != nil {
				return nil, &Error{Code: 2, Err: fmt.Errorf("--playbook-store (or RIPOSTE_PLAYBOOK_STORE): cannot write to the playbook store %s (every playbook version loaded is kept there for the workers, so it must be writable here):\n%w", o.PlaybookStore, err)}
			}
		}
		s.Playbooks = pbs
	}
	if o.Worker != nil {
		// The sticky cache is process-wide and sized when the first SDK
		// worker starts: the embedded server's own workers (scheduler,
		// batcher) start before ours, so size it before the server.
		setStickyCache(o.Worker.StickyCache)
	}
	if o.Embedded != nil {
		if err := s.startEmbedded(ctx, *o.Embedded, api); err != nil {
			return nil, err
		}
	}
	var obs *observability
	if o.Telemetry != nil {
		if obs, err = startObservability(ctx, *o.Telemetry, logger); err != nil {
			return nil, err
		}
		s.closers = append(s.closers, obs.Close)
		s.Metrics, s.MetricsServer = obs.Metrics, obs.Server
	}
	if err := s.dial(ctx, o, obs); err != nil {
		return nil, err
	}
	apiURL, uiURL := "", ""
	if api != nil {
		apiURL, uiURL = api.url, api.o.UIURL
	}
	if uiURL == "" && s.Server != nil {
		uiURL = s.Server.UIURL()
	}
	labState := "" // the Slack fake's messages, kept with the embedded server's data
	if o.Embedded != nil && o.Embedded.DataDir != "" {
		labState = filepath.Join(o.Embedded.DataDir, "lab-slack.json")
	}
	if err := s.resolveSlack(o.Slack, apiURL, uiURL, labState); err != nil {
		return nil, err
	}
	if s.Playbooks != nil && o.PlaybookStore == "" && s.Server == nil {
		// Said once started: not before a refusal to start.
		logger.Warn("no playbook store (RIPOSTE_PLAYBOOK_STORE, --playbook-store): a run parked at a gate cannot finish once its playbook version has left the playbooks directory and the workers restarted; give serve and every worker one shared directory")
	}
	if o.Worker != nil {
		if err := s.startWorker(wb, obs, api != nil); err != nil {
			return nil, err
		}
	}
	if api != nil {
		if err := s.startAPI(ctx, o, api); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// DecisionKeys returns the keys that seal and verify human decisions:
// dkeys (RIPOSTE_DECISION_KEY_FILE / RIPOSTE_DECISION_KEYS) when set, else
// keys derived from the payload encryption keys. Without either (nil keys:
// --no-encryption) Riposte refuses to start (exit 2); riposte doctor
// checks the same.
func DecisionKeys(keys *codec.Keyring, dkeys *signing.Keys) (*signing.Keys, error) {
	if dkeys != nil {
		return dkeys, nil
	}
	if keys == nil {
		return nil, &Error{Code: 2, Err: fmt.Errorf("decisions are signed: with --no-encryption set %s (a key file in the codec key format) on every serve and worker process", signing.EnvKeyFile)}
	}
	return signing.FromCodec(keys), nil
}

// startEmbedded starts the in-process Temporal server; its UI decodes
// payloads through the API's /codec endpoint.
func (s *System) startEmbedded(ctx context.Context, e EmbeddedOptions, api *apiBuild) error {
	codecEndpoint := ""
	if api != nil && api.codec {
		// The UI's codec calls authenticate with a secret drawn at each
		// start and carried in the codec endpoint's path: the UI cannot
		// send headers to an http:// codec, and an Origin header proves
		// nothing.
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("codec session secret: %w", err)
		}
		s.CodecSession = "s-" + hex.EncodeToString(b)
		codecEndpoint = api.url + "/codec/" + s.CodecSession
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		DataDir:          e.DataDir,
		FrontendPort:     e.FrontendPort,
		HTTPPort:         e.HTTPPort,
		UIPort:           e.UIPort,
		SearchAttributes: workflows.SearchAttributeTypes(),
		UICodecEndpoint:  codecEndpoint,
		Logger:           s.logger,
		DynamicConfig:    e.DynamicConfig,
	})
	if err != nil {
		return err
	}
	s.Server = srv
	s.closers = append(s.closers, func() { _ = srv.Stop() })
	s.Temporal.Address, s.Temporal.Namespace = srv.FrontendAddress(), srv.Namespace()
	return nil
}

// dial connects the client (codec, telemetry) and, for an external
// cluster, checks its search attributes.
func (s *System) dial(ctx context.Context, o Options, obs *observability) error {
	c, err := s.Temporal.Dial(ctx, s.logger, func(co *client.Options) {
		if o.Keys != nil {
			codec.ConfigureClientOptions(co, o.Keys, codec.Options{Compress: o.PayloadCompression})
		}
		if o.NoGRPCCompression {
			co.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
		}
		if obs != nil {
			obs.configure(co)
		}
		s.dataConverter = co.DataConverter
	})
	if err != nil {
		return err
	}
	s.Client = c
	s.closers = append(s.closers, c.Close)
	if s.Server == nil {
		if err := engine.CheckSearchAttributes(ctx, c, s.Temporal.Namespace, o.RegisterSearchAttributes); err != nil {
			var wrongType *engine.SearchAttributeTypeError
			if o.RegisterSearchAttributes || errors.As(err, &wrongType) {
				return err
			}
			return fmt.Errorf("%w (prepare it: riposte setup --temporal-address %s --namespace %s)", err, s.Temporal.Address, s.Temporal.Namespace)
		}
	}
	return nil
}

// ListenAddr turns "8080", ":8080" or "host:port" into a listen address;
// a bare port binds to loopback. flag names the setting in errors.
func ListenAddr(flag, v string) (string, error) {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 || n > 65535 {
			return "", fmt.Errorf("%s: port %d is out of range", flag, n)
		}
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(n)), nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", fmt.Errorf("%s: %q is not host:port or a port", flag, v)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return "", fmt.Errorf("%s: port %q is not a number", flag, port)
	}
	return net.JoinHostPort(host, port), nil
}

// Done is closed with the API's error when the API stops on its own (nil
// channel without an API: never).
func (s *System) Done() <-chan error {
	if s.API == nil {
		return nil
	}
	return s.API.done
}

// WorkerDone receives the error with which the worker stopped polling on
// its own, for good (the SDK's fatal errors: namespace not found, invalid
// argument); nil channel without a worker: never. The process should then
// exit: nothing else makes it poll again.
func (s *System) WorkerDone() <-chan error {
	return s.workerDone
}

// mount adds handler routes to m.
func mount(m map[string]http.Handler, routes map[string]http.Handler) {
	for k, v := range routes {
		m[k] = v
	}
}
