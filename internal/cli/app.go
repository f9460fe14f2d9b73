package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/telemetry"
	"github.com/riposte-dev/riposte/workflows"
)

// newLogger returns the process logger: text for terminals, JSON when
// RIPOSTE_LOG_FORMAT=json (production).
func newLogger(s Streams, level string) *slog.Logger {
	format := envOr("RIPOSTE_LOG_FORMAT", "text")
	l, err := telemetry.NewLogger(s.Err, format, level)
	if err != nil {
		// A bad level or format must not stop the process; say so once.
		if l, err = telemetry.NewLogger(s.Err, format, "info"); err != nil {
			l, _ = telemetry.NewLogger(s.Err, "text", "info")
		}
		l.Warn("ignoring log settings", "level", level, "format", format)
	}
	return l
}

// httpAddr turns "8080", ":8080" or "host:port" into a listen address;
// a bare port binds to loopback.
func httpAddr(v string) (string, error) {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 || n > 65535 {
			return "", fmt.Errorf("--http: port %d is out of range", n)
		}
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(n)), nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", fmt.Errorf("--http: %q is not host:port or a port", v)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return "", fmt.Errorf("--http: port %q is not a number", port)
	}
	return net.JoinHostPort(host, port), nil
}

// playbookSource loads playbooks and reloads them on demand.
type playbookSource struct {
	paths  []string
	disp   *dispatch.Dispatcher
	logger *slog.Logger
	mu     sync.Mutex
}

// load validates every playbook; on any problem the current set stays.
func (p *playbookSource) load() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	set, files, diags := playbook.Load(p.paths, activities.Catalog())
	if len(diags) > 0 {
		return diags
	}
	p.disp.SetPlaybooks(set)
	names := make([]string, 0, len(set.Playbooks))
	for _, c := range set.Playbooks {
		names = append(names, fmt.Sprintf("%s@v%d", c.Playbook.Name, c.Playbook.Version))
	}
	p.logger.Info("playbooks loaded", "count", len(set.Playbooks), "files", files, "playbooks", strings.Join(names, ","))
	return nil
}

// watchHUP reloads playbooks on SIGHUP until ctx ends.
func (p *playbookSource) watchHUP(ctx context.Context) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				if err := p.load(); err != nil {
					p.logger.Error("reload refused: playbooks invalid; keeping the previous set", "diagnostics", err.Error())
				}
			}
		}
	}()
}

// apiOptions configures startAPI.
type apiOptions struct {
	Addr      string
	Token     string
	MaxBody   int64
	Namespace string
	TaskQueue string
	UIURL     string
	Client    client.Client
	Playbooks []string
	Logger    *slog.Logger
	// Listener, when set, is already bound to Addr (riposte dev binds
	// first so the UI can be pointed at the API's codec endpoint).
	Listener net.Listener
	// Public routes that authenticate on their own (Slack, codec).
	Public map[string]http.Handler
	// Extra routes behind the API token.
	Extra map[string]http.Handler
	// RateLimit bounds requests per token.
	RateLimit api.RateLimit
	// Metrics receives the API's metrics (nil = none).
	Metrics *telemetry.Metrics
	// Config is riposte.yaml, for its detections: section ("" or a missing
	// file = the default finding view settings).
	Config string
	// Slack, when set, replaces the SLACK_* environment (riposte dev's
	// Slack fake).
	Slack *slackapp.Config
	// Keys seal decisions; Tokens are the personal tokens; DevUser is the
	// identity the shared token decides as.
	Keys    *signing.Keys
	Tokens  *auth.Store
	DevUser string
}

// runningAPI is a started HTTP API.
type runningAPI struct {
	URL     string
	server  *http.Server
	source  *playbookSource
	done    chan error
	closers []func()
}

// startAPI loads the playbooks (refusing to start on any problem), then
// serves the HTTP API.
func startAPI(ctx context.Context, o apiOptions) (*runningAPI, error) {
	validator, err := intake.NewValidator()
	if err != nil {
		return nil, err
	}
	defaults, err := approvalDefaults()
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	disp := &dispatch.Dispatcher{Client: o.Client, TaskQueue: o.TaskQueue, Namespace: o.Namespace, UIURL: o.UIURL, Approval: defaults, Metrics: o.Metrics}
	if o.Config != "" {
		if ok, err := exists(o.Config); err != nil {
			return nil, err
		} else if ok {
			fc, _, err := config.LoadDetections(o.Config)
			if err != nil {
				return nil, &exitError{code: 1, err: fmt.Errorf("detection settings are invalid; not starting:\n%w", err)}
			}
			disp.Finding = fc
		}
	}
	src := &playbookSource{paths: o.Playbooks, disp: disp, logger: o.Logger}
	if err := src.load(); err != nil {
		return nil, &exitError{code: 1, err: fmt.Errorf("playbooks are invalid; not starting:\n%w", err)}
	}
	srv := &api.Server{
		Metrics:    o.Metrics,
		Dispatcher: disp,
		Temporal:   o.Client,
		Validator:  validator,
		Token:      o.Token,
		DevUser:    o.DevUser,
		Tokens:     o.Tokens,
		Keys:       o.Keys,
		MaxBody:    o.MaxBody,
		Namespace:  o.Namespace,
		UIURL:      o.UIURL,
		Logger:     o.Logger,
		Reload:     src.load,
		Approvals:  &approvals.Service{Client: o.Client, Namespace: o.Namespace, Keys: o.Keys},
		Public:     o.Public,
		Extra:      o.Extra,
		RateLimit:  o.RateLimit,
	}
	// Slack interactions: signed HTTP requests and/or Socket Mode.
	scfg := slackapp.ConfigFromEnv()
	if o.Slack != nil {
		scfg = *o.Slack
	}
	var closers []func()
	if scfg.Enabled() {
		if err := scfg.Validate(); err != nil {
			return nil, &exitError{code: 2, err: fmt.Errorf("Slack configuration: %w", err)}
		}
		poster, err := slackapp.NewPoster(scfg, slackapp.PosterOptions{Logger: o.Logger})
		if err != nil {
			return nil, err
		}
		popts := slackapp.ProcessorOptions{Decider: srv.Approvals, Poster: poster, Logger: o.Logger,
			TeamID: scfg.TeamID, AppID: scfg.AppID, EnterpriseID: scfg.EnterpriseID}
		if scfg.SigningSecret != "" {
			h, err := slackapp.NewHandler(slackapp.HandlerOptions{ProcessorOptions: popts, SigningSecret: scfg.SigningSecret})
			if err != nil {
				return nil, err
			}
			if srv.Public == nil {
				srv.Public = map[string]http.Handler{}
			}
			srv.Public["POST /slack/interactions"] = h
			closers = append(closers, h.Close)
		}
		if scfg.SocketMode() {
			go func() {
				if err := slackapp.RunSocketMode(ctx, scfg, poster, srv.Approvals, o.Logger); err != nil {
					o.Logger.Error("Slack Socket Mode stopped", "error", err)
				}
			}()
		}
	} else if err := scfg.Validate(); scfg.AppToken != "" || scfg.SigningSecret != "" {
		return nil, &exitError{code: 2, err: fmt.Errorf("Slack configuration: SLACK_APP_TOKEN or SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not (%v)", err)}
	}
	ln := o.Listener
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", o.Addr)
		if err != nil {
			return nil, fmt.Errorf("listening for the HTTP API on %s: %w", o.Addr, err)
		}
	}
	hs := &http.Server{
		Handler:           telemetry.HTTPMiddleware(o.Metrics, srv.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	r := &runningAPI{URL: "http://" + ln.Addr().String(), server: hs, source: src, done: make(chan error, 1), closers: closers}
	go func() {
		err := hs.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		r.done <- err
	}()
	src.watchHUP(ctx)
	return r, nil
}

// stop shuts the API down gracefully.
func (r *runningAPI) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = r.server.Shutdown(ctx)
	for _, c := range r.closers {
		c()
	}
}

func loadSet(paths []string) (*playbook.Set, int, playbook.Diagnostics) {
	return playbook.Load(paths, activities.Catalog())
}

// approvalDefaults reads the site's approval defaults from the environment:
// RIPOSTE_APPROVERS and RIPOSTE_APPROVER_GROUPS (comma-separated Slack ids),
// RIPOSTE_APPROVAL_TIMEOUT (e.g. 30m) and RIPOSTE_APPROVAL_CHANNEL.
func approvalDefaults() (workflows.ApprovalDefaults, error) {
	d := workflows.ApprovalDefaults{
		Users:   splitList(os.Getenv("RIPOSTE_APPROVERS")),
		Groups:  splitList(os.Getenv("RIPOSTE_APPROVER_GROUPS")),
		Channel: strings.TrimSpace(os.Getenv("RIPOSTE_APPROVAL_CHANNEL")),
	}
	if t := strings.TrimSpace(os.Getenv("RIPOSTE_APPROVAL_TIMEOUT")); t != "" {
		v, err := playbook.ParseDuration(t)
		if err != nil {
			return d, fmt.Errorf("RIPOSTE_APPROVAL_TIMEOUT: %w", err)
		}
		d.Timeout = v
	}
	return d, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// rateFlags are the API's per-token rate limit flags.
type rateFlags struct {
	PerSecond float64
	Burst     int
}

func (f *rateFlags) register(fs *flag.FlagSet) {
	fs.Float64Var(&f.PerSecond, "rate-limit", 100, "API requests per second per token (0 = no limit)")
	fs.IntVar(&f.Burst, "rate-burst", 200, "API request burst per token")
}

func (f rateFlags) limit() api.RateLimit {
	return api.RateLimit{PerSecond: f.PerSecond, Burst: f.Burst}
}
