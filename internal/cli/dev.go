package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/internal/system"
	"github.com/riposte-dev/riposte/internal/telemetry"
)

const devUsage = `Usage: riposte dev [flags]

Runs the whole system in one process, with no other install: an embedded
Temporal server (SQLite under --data-dir) with its Web UI, the Riposte worker,
and the HTTP API. Playbooks are validated at start (any problem refuses to
start); SIGHUP or POST /v1/playbooks/reload reloads them. Ctrl-C stops.`

// DevOptions are riposte dev's flags.
type DevOptions struct {
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
	// NoPayloadCompression encrypts payloads without compressing them
	// first (before going back to a release older than 2026-12-05 with
	// the same data dir).
	NoPayloadCompression bool
}

func devCommand() command {
	return command{name: "dev", summary: "Run everything locally: embedded Temporal + UI, worker, API", usage: devUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			var o DevOptions
			fs := newFlagSet("dev", devUsage, s)
			fs.StringVar(&o.DataDir, "data-dir", config.Env("RIPOSTE_DATA_DIR", ".riposte"), "directory for the SQLite database, API token and keys")
			fs.StringVar(&o.Playbooks, "playbooks", config.Env("RIPOSTE_PLAYBOOKS", "playbooks"), "playbook directory or file (comma-separated for several)")
			fs.IntVar(&o.TemporalPort, "temporal-port", 7233, "Temporal gRPC port (0 = pick a free one)")
			fs.IntVar(&o.UIPort, "ui-port", 8233, "Temporal Web UI port (0 = pick a free one, -1 = no UI)")
			fs.IntVar(&o.TemporalHTTPPort, "temporal-http-port", -1, "Temporal frontend HTTP API port on 127.0.0.1 (-1 = off, the default; 0 = pick a free one)")
			fs.StringVar(&o.HTTP, "http", config.Env("RIPOSTE_HTTP", "8080"), "Riposte HTTP API address: port or host:port (0 = pick a free port)")
			fs.Int64Var(&o.MaxBody, "max-body", api.DefaultMaxBody, "largest detection request body in bytes")
			fs.StringVar(&o.LogLevel, "log-level", config.Env("RIPOSTE_LOG_LEVEL", "info"), "debug, info, warn or error")
			fs.BoolVar(&o.SlackFake, "slack-fake", true, "without SLACK_BOT_TOKEN, run a Slack fake: approval messages and clicks on /lab/slack")
			compress := true
			if strings.TrimSpace(os.Getenv("RIPOSTE_PAYLOAD_COMPRESSION")) != "" {
				v, err := config.EnvBool("RIPOSTE_PAYLOAD_COMPRESSION")
				if err != nil {
					return fail(s, &exitError{code: 2, err: err})
				}
				compress = v
			}
			var compressFlag bool
			fs.BoolVar(&compressFlag, "payload-compression", compress, "compress payloads before encrypting them (env RIPOSTE_PAYLOAD_COMPRESSION; on by default here); turn it off, and let the runs started since finish, before opening this data dir with a release before 2026-12-05")
			o.Runtime.register(fs)
			o.Observe.register(fs)
			o.Rate.register(fs)
			pos, code, ok := parseArgs(fs, args)
			if !ok {
				return code
			}
			if code, ok := noArgs(s, "dev", pos, "; the playbooks to load are --playbooks DIR (comma-separated for several)"); !ok {
				return code
			}
			o.NoPayloadCompression = !compressFlag
			if err := o.Runtime.check(); err != nil {
				return fail(s, &exitError{code: 2, err: err})
			}
			if err := runDev(ctx, o, s); err != nil {
				return fail(s, err)
			}
			return 0
		}}
}

// DevSystem is a running riposte dev: server, worker and API.
type DevSystem struct {
	*system.System
	Token string
	// MetricsURL is the metrics listener's base URL ("" without
	// --metrics-addr).
	MetricsURL string
	created    bool
}

// StartDev starts the embedded server, the worker and the API.
func StartDev(ctx context.Context, o DevOptions, logger *slog.Logger) (*DevSystem, error) {
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
	// Payloads are encrypted by default; the dev key lives in the data dir.
	keys, err := devKeyring(o.DataDir)
	if err != nil {
		return nil, err
	}
	dkeys, err := decisionKeys()
	if err != nil {
		return nil, err
	}
	slack := system.SlackFromEnv
	if o.SlackFake {
		slack = system.SlackFakeWithoutToken
	}
	wo := o.Runtime.worker(system.LabWithoutConfig)
	pbStore := o.Runtime.PlaybookStore
	if pbStore == "" {
		pbStore = filepath.Join(o.DataDir, "playbook-store")
	}
	oidcV, err := oidcFromEnv(ctx)
	if err != nil {
		return nil, err
	}
	user, err := devUser()
	if err != nil {
		return nil, err
	}
	sys, err := system.Start(ctx, system.Options{
		Logger: logger,
		Embedded: &system.EmbeddedOptions{DataDir: o.DataDir, FrontendPort: o.TemporalPort,
			HTTPPort: o.TemporalHTTPPort, UIPort: o.UIPort},
		Keys: keys, DecisionKeys: dkeys,
		// The server is in this process, over loopback: gzip (the SDK's
		// default) would only burn CPU.
		NoGRPCCompression: true,
		// Only this process reads the dev data dir's payloads.
		PayloadCompression: !o.NoPayloadCompression,
		Telemetry:          o.Observe.options(telemetry.ProcessDev),
		Slack:              slack,
		// No riposte.yaml: fake vendors on loopback speak the same API
		// subset, so playbooks run end to end without any vendor account.
		Worker: wo,
		// Every playbook version loaded is kept by digest in the data
		// dir, so runs find theirs after a restart with edited files.
		PlaybookStore: pbStore,
		API: &system.APIOptions{
			Addr: addr, Token: token, MaxBody: o.MaxBody, Playbooks: system.SplitList(o.Playbooks),
			Config: o.Runtime.Config, Policy: o.Runtime.Policy, RateLimit: o.Rate.limit(), Codec: true,
			Tokens:  auth.NewStore(config.Env("RIPOSTE_TOKENS_FILE", filepath.Join(o.DataDir, auth.TokensFile))),
			DevUser: user,
			OIDC:    oidcV,
		},
	})
	if err != nil {
		return nil, err
	}
	d := &DevSystem{System: sys, Token: token, created: created}
	if sys.MetricsServer != nil {
		d.MetricsURL = sys.MetricsServer.URL
	}
	return d, nil
}

func runDev(ctx context.Context, o DevOptions, s Streams) error {
	logger, err := newLogger(s, o.LogLevel)
	if err != nil {
		return err
	}
	d, err := StartDev(ctx, o, logger)
	if err != nil {
		return err
	}
	defer d.Close()
	srv, a, token := d.Server, d.API, d.Token

	absData, _ := filepath.Abs(o.DataDir)
	fmt.Fprintf(s.Out, "Riposte dev is running.\n")
	ui := srv.UIURL()
	if ui == "" {
		ui = "off (--ui-port -1); runs are in riposte runs and the API"
	}
	fmt.Fprintf(s.Out, "  Temporal UI:   %s\n", ui)
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
	case err := <-d.Done():
		if err != nil {
			return fmt.Errorf("HTTP API stopped: %w", err)
		}
	case err := <-d.WorkerDone():
		return fmt.Errorf("the worker stopped polling: %w", err)
	}
	return nil
}

// devLoopbackAddr is system.ListenAddr for riposte dev, which listens on
// loopback only (its Temporal frontend and UI have no authentication): a
// bare port or ":port" binds 127.0.0.1, an explicit host must be a loopback
// address.
func devLoopbackAddr(flagName, v string) (string, error) {
	if p, ok := strings.CutPrefix(v, ":"); ok {
		v = p
	}
	addr, err := system.ListenAddr(flagName, v)
	if err != nil {
		return "", fmt.Errorf("%s %q is not host:port or a port", flagName, v)
	}
	host, _, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("%s %s: riposte dev listens on loopback only (its Temporal frontend and Web UI have no login); give a port or 127.0.0.1:PORT, or run riposte serve and riposte worker for a shared deployment", flagName, v)
	}
	return addr, nil
}

// devKeyring returns the payload encryption keys: from
// RIPOSTE_CODEC_KEY_FILE / RIPOSTE_CODEC_KEYS when set, else the dev key in
// the data dir (created on first start). A data dir whose Temporal database
// already holds histories but has no key file gets no new key: every
// payload in it was encrypted with a key that is not there, and a fresh one
// would leave every open run unable to decode its history.
func devKeyring(dataDir string) (*codec.Keyring, error) {
	k, err := codec.KeyringFromEnv()
	if err == nil {
		return k, nil
	}
	if !errors.Is(err, codec.ErrNoKeyring) {
		return nil, err
	}
	keyFile, db := filepath.Join(dataDir, codec.DevKeyFile), filepath.Join(dataDir, devserver.DBFile)
	if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
		if fi, err := os.Stat(db); err == nil && fi.Size() > 0 {
			return nil, &exitError{code: 2, err: fmt.Errorf("%s holds Temporal histories but %s is missing: their payloads were encrypted with the key that file held (or with %s/%s when they were set), so a new key would leave every run unreadable; restore the key file (or set the variable as before), or remove %s to start over with an empty database",
				db, keyFile, codec.EnvKeyFile, codec.EnvKeys, db)}
		}
	}
	k, _, err = codec.EnsureDevKeyring(dataDir)
	return k, err
}
