package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/system"
	"github.com/riposte-dev/riposte/internal/telemetry"
)

const workerUsage = `Usage: riposte worker [flags]

Runs the Riposte worker (playbook interpreter and actions) against an
external Temporal cluster: self-hosted (docker-compose.yml) or Temporal Cloud
(mTLS or API key). Scale by running more workers on the same task queue.`

// clusterFlags are what worker and serve share: the Temporal cluster, the
// log level, payload encryption and observability.
type clusterFlags struct {
	Temporal   config.Temporal
	LogLevel   string
	Encryption encryptionFlags
	Observe    observeFlags
}

func (f *clusterFlags) register(fs *flag.FlagSet) {
	f.Temporal.RegisterFlags(fs)
	fs.StringVar(&f.LogLevel, "log-level", config.Env("RIPOSTE_LOG_LEVEL", "info"), "debug, info, warn or error")
	f.Encryption.register(fs)
	f.Observe.register(fs)
}

// options returns the system options these flags choose for the process
// (telemetry.ProcessWorker or ProcessServe: logger, keys, telemetry).
func (f *clusterFlags) options(process string, s Streams) (system.Options, error) {
	// Validate, and read the TLS files (a client key every user may read
	// is refused) before anything starts: a usage error, exit 2.
	if _, err := f.Temporal.ClientOptions(nil); err != nil {
		return system.Options{}, &exitError{code: 2, err: err}
	}
	keys, err := f.Encryption.keys()
	if err != nil {
		return system.Options{}, err
	}
	dkeys, err := decisionKeys()
	if err != nil {
		return system.Options{}, err
	}
	logger, err := newLogger(s, f.LogLevel)
	if err != nil {
		return system.Options{}, err
	}
	return system.Options{Logger: logger, Temporal: f.Temporal, Keys: keys, DecisionKeys: dkeys,
		PayloadCompression: f.Encryption.Compression, Telemetry: f.Observe.options(process)}, nil
}

// workerOptions are riposte worker's flags.
type workerOptions struct {
	clusterFlags
	RegisterSA bool
	// Playbooks are the ones serve loads: runs refer to their playbook
	// version and the worker loads it from here (or the playbook store).
	Playbooks string
	Runtime   runtimeFlags
}

func workerCommand() command {
	return command{name: "worker", summary: "Run the worker against a Temporal cluster (production)", usage: workerUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			var o workerOptions
			fs := newFlagSet("worker", workerUsage, s)
			o.clusterFlags.register(fs)
			fs.StringVar(&o.Playbooks, "playbooks", config.Env("RIPOSTE_PLAYBOOKS", "playbooks"), "the playbook directory or file serve loads (comma-separated for several): runs refer to their playbook version and the worker loads it from here or from --playbook-store (missing paths are skipped)")
			registerSA, saErr := config.EnvBool("RIPOSTE_REGISTER_SEARCH_ATTRIBUTES")
			fs.BoolVar(&o.RegisterSA, "register-search-attributes", registerSA, "add Riposte's search attributes to the namespace if missing (env RIPOSTE_REGISTER_SEARCH_ATTRIBUTES=true)")
			o.Runtime.register(fs)
			pos, code, ok := parseArgs(fs, args)
			if !ok {
				return code
			}
			if code, ok := noArgs(s, "worker", pos, "; the playbooks to load are --playbooks DIR (comma-separated for several)"); !ok {
				return code
			}
			if saErr != nil {
				return fail(s, &exitError{code: 2, err: saErr})
			}
			if err := o.Runtime.check(); err != nil {
				return fail(s, &exitError{code: 2, err: err})
			}
			if err := o.Runtime.checkFiles(); err != nil {
				return fail(s, &exitError{code: 2, err: err})
			}
			if err := runWorker(ctx, o, s); err != nil {
				return fail(s, err)
			}
			return 0
		}}
}

func runWorker(ctx context.Context, o workerOptions, s Streams) error {
	so, err := o.options(telemetry.ProcessWorker, s)
	if err != nil {
		return err
	}
	so.RegisterSearchAttributes = o.RegisterSA
	so.PlaybookStore = o.Runtime.PlaybookStore
	so.Worker = o.Runtime.worker(system.LabNever)
	so.Worker.Playbooks = system.SplitList(o.Playbooks)
	// From before the start (connecting to Temporal) until after the
	// close (the steps in flight finishing): a SIGHUP in either would end
	// the process by its default action.
	defer ignoreHUP(so.Logger, "SIGHUP ignored: the worker has nothing to reload (serve reloads playbooks: POST /v1/playbooks/reload, or SIGHUP to serve); stop the worker with SIGTERM")()
	sys, err := system.Start(ctx, so)
	if err != nil {
		return err
	}
	defer sys.Close()
	// GET /readyz: polling (Kubernetes readiness), and only while Temporal
	// answers: a worker cut off from its frontend polls nothing.
	sys.MetricsServer.SetReadyCheck(temporalAnswers(sys))
	sys.MetricsServer.SetReady(true)
	so.Logger.Info("worker running", "temporal", o.Temporal.Address, "namespace", o.Temporal.Namespace, "task_queue", o.Temporal.TaskQueue)
	fmt.Fprintf(s.Out, "Riposte worker polling %s on %s (namespace %s)\n", o.Temporal.TaskQueue, o.Temporal.Address, o.Temporal.Namespace)
	select {
	case <-ctx.Done():
	case err := <-sys.WorkerDone():
		// Polling nothing: not ready, and exit (1) so that the
		// orchestrator restarts the process.
		sys.MetricsServer.SetReady(false)
		return fmt.Errorf("the worker stopped polling %s (namespace %s on %s): %w", o.Temporal.TaskQueue, o.Temporal.Namespace, o.Temporal.Address, err)
	}
	return nil
}

// ignoreHUP keeps a SIGHUP from killing the worker (its default action):
// serve reloads playbooks on it, and `docker compose kill -s HUP` without a
// service name sends it to the workers too, which would then stop without
// letting their steps finish. The worker has nothing to reload (it loads a
// run's playbook version when the run needs it), so it says so and goes on.
// The returned function stops watching.
// A msg of "" ignores it silently (serve, whose API reloads playbooks on
// it while it runs, holds it this way while it starts and stops).
func ignoreHUP(log *slog.Logger, msg string) func() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				if msg != "" {
					log.Warn(msg)
				}
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}

const serveUsage = `Usage: riposte serve [flags]

Serves the Riposte HTTP API (detection intake, runs, approvals) against an
external Temporal cluster. The API token comes from RIPOSTE_API_TOKEN (or
--token-file); serve refuses to start without one.`

// serveOptions are riposte serve's flags.
type serveOptions struct {
	clusterFlags
	Playbooks  string
	HTTP       string
	MaxBody    int64
	TokenFile  string
	TokensFile string
	UIURL      string
	CORS       string
	Rate       rateFlags
	// Config is riposte.yaml, read for its detections: section.
	Config string
	// PlaybookStore keeps every version serve loads, by digest (shared
	// with the workers); PlaybookInput is auto, reference or inline.
	PlaybookStore string
	PlaybookInput string
	// ShutdownDelay is how long serve goes on answering after SIGTERM,
	// /healthz saying 503, before it drains and exits.
	ShutdownDelay time.Duration
}

func serveCommand() command {
	return command{name: "serve", summary: "Serve the API against a Temporal cluster (production)", usage: serveUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			var o serveOptions
			fs := newFlagSet("serve", serveUsage, s)
			o.clusterFlags.register(fs)
			fs.StringVar(&o.Playbooks, "playbooks", config.Env("RIPOSTE_PLAYBOOKS", "playbooks"), "playbook directory or file (comma-separated for several)")
			fs.StringVar(&o.HTTP, "http", config.Env("RIPOSTE_HTTP", "0.0.0.0:8080"), "HTTP API address: port or host:port")
			fs.StringVar(&o.Config, "config", config.Env("RIPOSTE_CONFIG", "riposte.yaml"), "riposte.yaml, for its detections: section (optional; env RIPOSTE_CONFIG)")
			fs.Int64Var(&o.MaxBody, "max-body", api.DefaultMaxBody, "largest detection request body in bytes")
			fs.StringVar(&o.TokenFile, "token-file", config.Env("RIPOSTE_API_TOKEN_FILE", ""), "file holding the API token (else RIPOSTE_API_TOKEN)")
			fs.StringVar(&o.TokensFile, "tokens-file", config.Env("RIPOSTE_TOKENS_FILE", ""), "personal API tokens file (riposte tokens create --tokens-file …; env RIPOSTE_TOKENS_FILE)")
			fs.StringVar(&o.UIURL, "ui-url", config.Env("RIPOSTE_PUBLIC_UI_URL", ""), "public Temporal UI base URL for run links (env RIPOSTE_PUBLIC_UI_URL)")
			fs.StringVar(&o.CORS, "codec-cors-origins", config.Env("RIPOSTE_CODEC_CORS_ORIGINS", ""), "Temporal UI origins allowed to call /codec (comma-separated; env RIPOSTE_CODEC_CORS_ORIGINS)")
			fs.StringVar(&o.PlaybookStore, "playbook-store", config.Env("RIPOSTE_PLAYBOOK_STORE", ""), "directory keeping every playbook version loaded, by digest, shared with the workers (env RIPOSTE_PLAYBOOK_STORE)")
			fs.StringVar(&o.PlaybookInput, "playbook-input", config.Env("RIPOSTE_PLAYBOOK_INPUT", "auto"), "how runs carry their playbook: reference (name, version, digest; the workers load that version), inline (the whole playbook, as releases before), or auto: by reference once every worker polling the task queue can load playbooks by reference (env RIPOSTE_PLAYBOOK_INPUT)")
			delay := config.Env("RIPOSTE_SHUTDOWN_DELAY", "5s")
			fs.StringVar(&delay, "shutdown-delay", delay, "after SIGTERM, how long to go on answering (GET /healthz says 503) while load balancers take this replica out of rotation, before draining the requests in flight and exiting: a Kubernetes Service routes new connections to a terminating pod for a few seconds (env RIPOSTE_SHUTDOWN_DELAY; 0s: stop at once)")
			o.Rate.register(fs)
			pos, code, ok := parseArgs(fs, args)
			if !ok {
				return code
			}
			if code, ok := noArgs(s, "serve", pos, "; the playbooks to load are --playbooks DIR (comma-separated for several)"); !ok {
				return code
			}
			d, err := time.ParseDuration(delay)
			if err != nil || d < 0 {
				return fail(s, &exitError{code: 2, err: fmt.Errorf("--shutdown-delay (or RIPOSTE_SHUTDOWN_DELAY) %q: want a duration such as 5s", delay)})
			}
			o.ShutdownDelay = d
			if err := runServe(ctx, o, s); err != nil {
				return fail(s, err)
			}
			return 0
		}}
}

func runServe(ctx context.Context, o serveOptions, s Streams) error {
	if _, err := system.ListenAddr("--http", o.HTTP); err != nil {
		return &exitError{code: 2, err: err}
	}
	if o.UIURL != "" {
		// The API's run URLs and every approval message link to it.
		if err := slackapp.CheckUIURL(o.UIURL); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("--ui-url (env %s): %w", slackapp.EnvPublicUIURL, err)}
		}
	}
	// Personal tokens alone are enough; but a shared token file that is
	// named is read or refused (readable by every user, missing, empty),
	// never dropped in silence: its clients would all get 401.
	token, err := config.ServeToken(o.TokenFile)
	switch {
	case err != nil && o.TokenFile != "":
		return &exitError{code: 2, err: err}
	case err != nil && o.TokensFile == "":
		return &exitError{code: 2, err: fmt.Errorf("%w, or --tokens-file (personal tokens)", err)}
	}
	so, err := o.options(telemetry.ProcessServe, s)
	if err != nil {
		return err
	}
	var store *auth.Store
	if o.TokensFile != "" {
		store = auth.NewStore(o.TokensFile)
		if _, err := store.List(); err != nil {
			return &exitError{code: 2, err: err}
		}
	}
	oidcV, err := oidcFromEnv(ctx)
	if err != nil {
		return err
	}
	user, err := devUser()
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	so.PlaybookStore = o.PlaybookStore
	so.API = &system.APIOptions{
		PlaybookInput: o.PlaybookInput,
		Addr:          o.HTTP, Token: token, Tokens: store, DevUser: user, OIDC: oidcV,
		MaxBody: o.MaxBody, UIURL: o.UIURL, Playbooks: system.SplitList(o.Playbooks), Config: o.Config,
		RateLimit: o.Rate.limit(), Codec: true, CodecOrigins: system.SplitList(o.CORS),
	}
	// The API reloads playbooks on SIGHUP while it runs; before it is up
	// and after SIGTERM (still answering, then the requests in flight and
	// the Slack clicks already acknowledged finishing) the signal's default
	// action would end the process: hold it from before the start until
	// after the close.
	defer ignoreHUP(so.Logger, "")()
	sys, err := system.Start(ctx, so)
	if err != nil {
		return err
	}
	defer sys.Close()
	sys.MetricsServer.SetReadyCheck(temporalAnswers(sys))
	sys.MetricsServer.SetReady(true) // GET /readyz on the metrics port
	fmt.Fprintf(s.Out, "Riposte API listening on %s (Temporal %s, namespace %s)\n", sys.API.URL, o.Temporal.Address, o.Temporal.Namespace)
	select {
	case <-ctx.Done():
	case err := <-sys.Done():
		return err
	}
	// SIGTERM: not ready any more, but go on answering what load balancers
	// still route here until they have taken this replica out; the
	// deferred Close then drains the requests in flight.
	sys.API.Drain()
	sys.MetricsServer.SetReady(false)
	if o.ShutdownDelay > 0 {
		so.Logger.Info("shutting down: still answering while load balancers take this replica out", "delay", o.ShutdownDelay.String())
		select {
		case <-time.After(o.ShutdownDelay):
		case err := <-sys.Done():
			return err
		}
	}
	return nil
}

// temporalAnswers is the readiness check of worker and serve: the Temporal
// frontend answers a GetSystemInfo (what dialing asks; allowed with any
// credential, Temporal Cloud's included).
func temporalAnswers(sys *system.System) func(context.Context) error {
	return func(ctx context.Context) error {
		if _, err := sys.Client.WorkflowService().GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{}); err != nil {
			return fmt.Errorf("the Temporal frontend at %s does not answer: %w", sys.Temporal.Address, err)
		}
		return nil
	}
}
