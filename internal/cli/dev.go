package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"

	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/telemetry"
	"github.com/riposte-dev/riposte/workflows"
)

const devUsage = `Usage: riposte dev [flags]

Runs the whole system in one process, with no other install: an embedded
Temporal server (SQLite under --data-dir) with its Web UI, the Riposte worker,
and the HTTP API. Playbooks are validated at start (any problem refuses to
start); SIGHUP or POST /v1/playbooks/reload reloads them. Ctrl-C stops.`

// devOptions are riposte dev's flags.
type devOptions struct {
	DataDir      string
	Playbooks    string
	TemporalPort int
	UIPort       int
	// TemporalHTTPPort is the Temporal frontend's HTTP API: -1 (default)
	// off, 0 a free port. Off because any local process could otherwise
	// drive workflows over it with a CSRF-style request.
	TemporalHTTPPort int
	HTTP             string
	MaxBody          int64
	LogLevel         string
	Runtime          runtimeFlags
	Rate             rateFlags
	Observe          observeFlags
	// SlackFake runs the Slack fake (and its page /lab/slack) when no
	// SLACK_BOT_TOKEN is set.
	SlackFake bool
}

func devCommand() command {
	return command{name: "dev", summary: "Run everything locally: embedded Temporal + UI, worker, API", usage: devUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			var o devOptions
			fs := newFlagSet("dev", devUsage, s)
			fs.StringVar(&o.DataDir, "data-dir", envOr("RIPOSTE_DATA_DIR", ".riposte"), "directory for the SQLite database, API token and keys")
			fs.StringVar(&o.Playbooks, "playbooks", envOr("RIPOSTE_PLAYBOOKS", "playbooks"), "playbook directory or file (comma-separated for several)")
			fs.IntVar(&o.TemporalPort, "temporal-port", 7233, "Temporal gRPC port (0 = pick a free one)")
			fs.IntVar(&o.UIPort, "ui-port", 8233, "Temporal Web UI port (0 = pick a free one)")
			fs.IntVar(&o.TemporalHTTPPort, "temporal-http-port", -1, "Temporal frontend HTTP API port on 127.0.0.1 (-1 = off, the default; 0 = pick a free one)")
			fs.StringVar(&o.HTTP, "http", envOr("RIPOSTE_HTTP", "8080"), "Riposte HTTP API address: port or host:port (0 = pick a free port)")
			fs.Int64Var(&o.MaxBody, "max-body", api.DefaultMaxBody, "largest detection request body in bytes")
			fs.StringVar(&o.LogLevel, "log-level", envOr("RIPOSTE_LOG_LEVEL", "info"), "debug, info, warn or error")
			fs.BoolVar(&o.SlackFake, "slack-fake", true, "without SLACK_BOT_TOKEN, run a Slack fake: approval messages and clicks on /lab/slack")
			o.Runtime.register(fs)
			o.Observe.register(fs)
			o.Rate.register(fs)
			if _, err := parseFlags(fs, args); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					return 0
				}
				return 2
			}
			if err := o.Runtime.check(); err != nil {
				return fail(s, &exitError{code: 2, err: err})
			}
			if err := runDev(ctx, o, s); err != nil {
				return fail(s, err)
			}
			return 0
		}}
}

// devSystem is a running riposte dev: server, worker and API.
type devSystem struct {
	Keys   *codec.Keyring
	Lab    *lab.Lab
	Server *devserver.Server
	API    *runningAPI
	Token  string
	// SlackFake is true when approvals go to the Slack fake (/lab/slack).
	SlackFake bool
	// MetricsURL is the metrics listener's base URL ("" without
	// --metrics-addr).
	MetricsURL string
	// codecSession is the secret in the UI's codec endpoint.
	codecSession string
	created      bool
	closers      []func()
}

// Close stops everything in reverse start order.
func (d *devSystem) Close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
	d.closers = nil
}

// startDev starts the embedded server, the worker and the API.
func startDev(ctx context.Context, o devOptions, logger *slog.Logger) (_ *devSystem, err error) {
	addr, err := devLoopbackAddr("--http", o.HTTP)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	if o.Observe.MetricsAddr != "" {
		if o.Observe.MetricsAddr, err = devLoopbackAddr("--metrics-addr", o.Observe.MetricsAddr); err != nil {
			return nil, &exitError{code: 2, err: err}
		}
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	token, created, err := config.LoadOrCreateToken(o.DataDir)
	if err != nil {
		return nil, err
	}
	paths := strings.Split(o.Playbooks, ",")
	// Validate before starting anything heavy: a bad playbook must not cost
	// a server start to find out.
	if _, err := loadPlaybooks(paths); err != nil {
		return nil, &exitError{code: 1, err: fmt.Errorf("playbooks are invalid; not starting:\n%w", err)}
	}
	d := &devSystem{Token: token, created: created}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	// Payloads are encrypted by default; the dev key lives in the data dir.
	keys, err := devKeyring(o.DataDir)
	if err != nil {
		return nil, err
	}
	d.Keys = keys
	// Bind the API first: the UI must know the codec endpoint's URL.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for the HTTP API on %s: %w", addr, err)
	}
	d.closers = append(d.closers, func() { _ = ln.Close() })
	apiURL := "http://" + ln.Addr().String()
	// The UI's codec calls authenticate with a secret drawn at each start
	// and carried in the codec endpoint's path: the UI cannot send headers
	// to an http:// codec, and an Origin header proves nothing.
	session, err := newCodecSession()
	if err != nil {
		return nil, err
	}
	d.codecSession = session
	srv, err := devserver.Start(ctx, devserver.Options{
		DataDir:          o.DataDir,
		FrontendPort:     o.TemporalPort,
		HTTPPort:         o.TemporalHTTPPort,
		UIPort:           o.UIPort,
		SearchAttributes: workflows.SearchAttributeTypes(),
		UICodecEndpoint:  apiURL + "/codec/" + session,
		Logger:           logger,
	})
	if err != nil {
		return nil, err
	}
	d.Server = srv
	d.closers = append(d.closers, func() { _ = srv.Stop() })

	obs, err := startObservability(ctx, "riposte-dev", o.Observe, logger)
	if err != nil {
		return nil, err
	}
	d.closers = append(d.closers, obs.Close)
	if obs.Server != nil {
		d.MetricsURL = obs.Server.URL
	}
	tc := config.Temporal{Address: srv.FrontendAddress(), Namespace: srv.Namespace(), TaskQueue: workflows.DefaultTaskQueue}
	c, err := tc.Dial(ctx, logger, obs.clientOptions(func(co *client.Options) {
		codec.ConfigureClientOptions(co, keys)
		// The server is in this process, over loopback: gzip (the SDK's
		// default) would only burn CPU.
		co.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}))
	if err != nil {
		return nil, err
	}
	d.closers = append(d.closers, c.Close)
	obs.Metrics.WatchApprovalsPending(telemetry.CountWorkflows(c, srv.Namespace(), workflows.PendingApprovalsQuery()), 0)

	env := activities.NewEnv(logger)
	conns, ok, err := loadConnections(o.Runtime.Config, logger)
	if err != nil {
		return nil, err
	}
	if ok {
		env.Connections = conns
	} else {
		// No riposte.yaml: fake vendors on loopback speak the same API
		// subset, so playbooks run end to end without any vendor account.
		l, err := lab.Start(lab.Options{Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("starting the vendor lab: %w", err)
		}
		d.Lab = l
		d.closers = append(d.closers, func() { _ = l.Close() })
		env.Connections = l.Connections()
	}
	dkeys, err := decisionKeys(keys)
	if err != nil {
		return nil, err
	}
	var slackLab http.Handler
	if o.SlackFake && strings.TrimSpace(os.Getenv(slackapp.EnvBotToken)) == "" {
		scfg, h, stop, err := startSlackFake(apiURL, srv.UIURL())
		if err != nil {
			return nil, err
		}
		d.closers = append(d.closers, stop)
		o.Runtime.Slack, slackLab = scfg, h
		d.SlackFake = true
	}
	w, err := newWorker(c, tc.TaskQueue, env, o.Runtime, logger, obs.Metrics, dkeys)
	if err != nil {
		return nil, err
	}
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("starting worker: %w", err)
	}
	d.closers = append(d.closers, w.Stop)

	extra := map[string]http.Handler{}
	labPublic := map[string]http.Handler{}
	if d.Lab != nil {
		// The lab holds fake vendor state only; its page needs no token.
		labPublic["GET /lab"] = d.Lab.Handler()
		extra["GET /v1/lab"] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(d.Lab.State())
		})
	}
	public := map[string]http.Handler{
		"/codec/": codec.LoopbackHostOnly(codec.Handler(keys, codec.HandlerOptions{
			Prefix: "/codec", AllowedOrigins: codec.LoopbackOrigins(srv.UIURL()),
			Authorize: codec.DevAuthorizer(token, session),
		})),
	}
	for k, v := range labPublic {
		public[k] = v
	}
	public["GET /metrics"] = obs.Metrics.Handler()
	if slackLab != nil {
		public["GET /lab/slack"] = slackLab
		public["POST /lab/slack/click"] = slackLab
	}
	a, err := startAPI(ctx, apiOptions{
		Addr: addr, Token: token, MaxBody: o.MaxBody, Namespace: srv.Namespace(), TaskQueue: tc.TaskQueue,
		UIURL: srv.UIURL(), Client: c, Playbooks: paths, Logger: logger, Listener: ln, Public: public, Extra: extra, RateLimit: o.Rate.limit(),
		Metrics: obs.Metrics, Config: o.Runtime.Config, Slack: o.Runtime.Slack, Keys: dkeys,
		Tokens:  auth.NewStore(envOr("RIPOSTE_TOKENS_FILE", filepath.Join(o.DataDir, auth.TokensFile))),
		DevUser: strings.TrimSpace(os.Getenv("RIPOSTE_USER")),
	})
	if err != nil {
		return nil, err
	}
	d.API = a
	d.closers = append(d.closers, a.stop)
	return d, nil
}

func runDev(ctx context.Context, o devOptions, s Streams) error {
	logger := newLogger(s, o.LogLevel)
	d, err := startDev(ctx, o, logger)
	if err != nil {
		return err
	}
	defer d.Close()
	srv, a, token := d.Server, d.API, d.Token

	absData, _ := filepath.Abs(o.DataDir)
	fmt.Fprintf(s.Out, "Riposte dev is running.\n")
	fmt.Fprintf(s.Out, "  Temporal UI:   %s\n", srv.UIURL())
	fmt.Fprintf(s.Out, "  Riposte API:   %s\n", a.URL)
	fmt.Fprintf(s.Out, "  Temporal gRPC: %s (namespace %s)\n", srv.FrontendAddress(), srv.Namespace())
	if os.Getenv(config.TokenEnv) != "" {
		fmt.Fprintf(s.Out, "  API token:     from %s\n", config.TokenEnv)
	} else {
		note := ""
		if d.created {
			note = " (new)"
		}
		fmt.Fprintf(s.Out, "  API token:     %s%s, stored in %s\n", token, note, filepath.Join(absData, config.TokenFile))
	}
	if d.Lab != nil {
		fmt.Fprintf(s.Out, "  Vendor lab:    %s/lab (no riposte.yaml: connectors talk to local fakes)\n", a.URL)
	}
	if d.SlackFake {
		fmt.Fprintf(s.Out, "  Slack (fake):  %s/lab/slack (no SLACK_BOT_TOKEN: approve and deny there, as any lab user)\n", a.URL)
	}
	fmt.Fprintf(s.Out, "  Data dir:      %s\n", absData)
	fmt.Fprintf(s.Out, "Send a detection: riposte submit --api %s examples/credential-dumping.json\n", a.URL)

	select {
	case <-ctx.Done():
		fmt.Fprintln(s.Out, "Shutting down…")
	case err := <-a.done:
		if err != nil {
			return fmt.Errorf("HTTP API stopped: %w", err)
		}
	}
	return nil
}

// devLoopbackAddr is httpAddr for riposte dev, which listens on loopback
// only (its Temporal frontend and UI have no authentication): a bare port or
// ":port" binds 127.0.0.1, an explicit host must be a loopback address.
func devLoopbackAddr(flagName, v string) (string, error) {
	if p, ok := strings.CutPrefix(v, ":"); ok {
		v = p
	}
	addr, err := httpAddr(v)
	if err != nil {
		return "", fmt.Errorf("%s %q is not host:port or a port", flagName, v)
	}
	host, _, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("%s %s: riposte dev listens on loopback only (its Temporal frontend and Web UI have no login); give a port or 127.0.0.1:PORT, or run riposte serve and riposte worker for a shared deployment", flagName, v)
	}
	return addr, nil
}

// newCodecSession draws the per-start secret of the UI's codec endpoint.
func newCodecSession() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("codec session secret: %w", err)
	}
	return "s-" + hex.EncodeToString(b), nil
}

// devKeyring returns the payload encryption keys: from
// RIPOSTE_CODEC_KEY_FILE / RIPOSTE_CODEC_KEYS when set, else the dev key in
// the data dir (created on first start).
func devKeyring(dataDir string) (*codec.Keyring, error) {
	k, err := codec.KeyringFromEnv()
	if err == nil {
		return k, nil
	}
	if !errors.Is(err, codec.ErrNoKeyring) {
		return nil, err
	}
	k, _, err = codec.EnsureDevKeyring(dataDir)
	return k, err
}

// loadPlaybooks validates the playbooks under paths.
func loadPlaybooks(paths []string) (int, error) {
	set, _, diags := loadSet(paths)
	if len(diags) > 0 {
		return 0, diags
	}
	return len(set.Playbooks), nil
}
