// Package devserver runs an embedded Temporal server (SQLite persistence) and the Temporal Web UI in-process.
//
// It backs the `riposte dev` command and the integration tests: one call to
// Start brings up a single-node cluster with every Temporal service (frontend,
// history, matching, worker) in the current process, persisted in
// <DataDir>/temporal.db (or in memory), makes sure the namespace and the custom
// search attributes exist, and optionally serves the Web UI from the assets
// embedded in github.com/temporalio/ui-server. Nothing is downloaded at run time.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/temporal"
)

// Defaults applied by Start for zero-valued Options fields.
const (
	DefaultIP        = "127.0.0.1"
	DefaultNamespace = "default"
	DefaultRetention = 7 * 24 * time.Hour
)

// Options configures Start. The zero value is a usable in-memory server on
// free ports with the UI enabled.
type Options struct {
	DataDir          string                            // directory holding the SQLite file (created if missing); "" = in-memory (tests)
	IP               string                            // bind address, default "127.0.0.1"
	FrontendPort     int                               // gRPC port; 0 = pick a free port
	UIPort           int                               // Web UI port; 0 = pick a free port; -1 = no UI
	Namespace        string                            // default "default"; created if missing
	Retention        time.Duration                     // default 7 * 24h
	SearchAttributes map[string]enums.IndexedValueType // custom search attributes (go.temporal.io/api/enums/v1), registered before Start returns
	UICodecEndpoint  string                            // optional: remote codec endpoint the UI should use (for encrypted payloads); "" = none
	Logger           *slog.Logger                      // nil = discard; the Temporal server's own records are forwarded at ServerLogLevel (default warn) and up

	// HTTPPort is the frontend's HTTP API port (used by Nexus callbacks and
	// HTTP clients): 0 = pick a free port, -1 = disabled.
	HTTPPort int
	// ServerLogLevel is the minimum level of the Temporal server's own log
	// records forwarded to Logger; nil = slog.LevelWarn.
	ServerLogLevel slog.Leveler
	// DynamicConfig adds to or overrides the dynamic config values this
	// package sets (see DevDynamicConfig). Integer values must be of type int.
	DynamicConfig map[string]any
	// StartTimeout bounds how long Start waits for the namespace and search
	// attributes to become ready after the services are up; 0 = 1 minute.
	// The context passed to Start can end the wait earlier.
	StartTimeout time.Duration
}

// Server is a running embedded Temporal server (and UI). Create it with Start
// and release it with Stop.
type Server struct {
	namespace    string
	frontendAddr string
	httpAddr     string
	uiURL        string
	dbPath       string

	temporal   temporal.Server
	ui         *uiServer
	client     client.Client
	logger     *slog.Logger
	logLevel   *slog.LevelVar // server log level, raised during Stop
	unlock     func() error   // releases the data dir lock; nil if none
	quietOnEnd bool

	// dc is the server's dynamic config; settled is closed once the
	// search attribute cache refresh is back to normal (see Settled).
	dc          *dynamicconfig.MemoryClient
	settled     chan struct{}
	settleTimer *time.Timer

	stopOnce sync.Once
	stopErr  error
}

// searchAttributeSettle is how long after registering search attributes
// Start keeps the servers' search attribute caches refreshing on every read:
// each service's cache expires a minute after its last refresh (the server's
// fixed interval), so after this long no cache can predate the registration.
const searchAttributeSettle = 61 * time.Second

// Settled is closed once every service's search attribute cache is known to
// hold the attributes Start registered and the per-read refresh is off: at
// once when they were registered by an earlier start, about a minute after
// Start returns on a fresh data directory. Runs work before that; they only
// cost more (benchmarks wait for it).
func (s *Server) Settled() <-chan struct{} { return s.settled }

// FrontendAddress is the host:port of the frontend gRPC API, e.g.
// "127.0.0.1:7233", suitable for client.Options.HostPort.
func (s *Server) FrontendAddress() string { return s.frontendAddr }

// HTTPAddress is the host:port of the frontend HTTP API, or "" if disabled.
func (s *Server) HTTPAddress() string { return s.httpAddr }

// UIURL is the base URL of the Web UI, e.g. "http://127.0.0.1:8233", or ""
// when the UI is disabled.
func (s *Server) UIURL() string { return s.uiURL }

// Namespace is the namespace that Start created or found.
func (s *Server) Namespace() string { return s.namespace }

// DatabasePath is the SQLite file in use, or "" for an in-memory server.
func (s *Server) DatabasePath() string { return s.dbPath }

// Start starts the Temporal services and, unless disabled, the Web UI. It
// returns once the frontend answers and the namespace and search attributes
// are ready to use. ctx bounds the readiness wait; the server keeps running
// after ctx ends, until Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	s, err := start(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("starting temporal server: %w", err)
	}
	return s, nil
}

func start(ctx context.Context, opts Options) (_ *Server, retErr error) {
	if err := opts.applyDefaults(); err != nil {
		return nil, err
	}
	logger := opts.Logger
	s := &Server{
		namespace: opts.Namespace,
		logger:    logger,
		logLevel:  new(slog.LevelVar),
	}
	// Stop whatever was started if anything below fails.
	defer func() {
		if retErr != nil {
			_ = s.Stop()
		}
	}()

	var serverLevel slog.Leveler = s.logLevel
	if opts.ServerLogLevel != nil {
		serverLevel = opts.ServerLogLevel
	} else {
		s.logLevel.Set(slog.LevelWarn)
		s.quietOnEnd = true
	}

	ports, err := resolvePorts(&opts)
	if err != nil {
		return nil, err
	}
	dialHost := dialableHost(opts.IP)
	s.frontendAddr = net.JoinHostPort(dialHost, strconv.Itoa(ports.frontend))
	if ports.http > 0 {
		s.httpAddr = net.JoinHostPort(dialHost, strconv.Itoa(ports.http))
	}

	// Bind the UI port first: it is the only listener we own, and holding it
	// means a conflict is reported before the server is brought up.
	if opts.UIPort >= 0 {
		s.ui, err = newUIServer(uiConfig{
			ip:               opts.IP,
			port:             ports.ui,
			frontendAddress:  s.frontendAddr,
			defaultNamespace: opts.Namespace,
			codecEndpoint:    opts.UICodecEndpoint,
		}, logger)
		if err != nil {
			return nil, err
		}
		s.uiURL = "http://" + net.JoinHostPort(dialHost, strconv.Itoa(s.ui.port()))
	}

	// Persistence. In-memory databases get their schema from the plugin.
	if opts.DataDir != "" {
		if s.dbPath, err = prepareDataDir(opts.DataDir); err != nil {
			return nil, err
		}
		if s.unlock, err = lockDataDir(s.dbPath); err != nil {
			return nil, err
		}
	}
	sqlCfg := sqliteConfig(s.dbPath)
	if s.dbPath != "" {
		if err := ensureSchema(ctx, sqlCfg); err != nil {
			return nil, fmt.Errorf("setting up sqlite schema: %w", err)
		}
	}

	// Temporal services.
	srvLogger := newServerLogger(logger, serverLevel)
	if opts.HTTPPort < 0 {
		srvLogger.expected = append(srvLogger.expected, httpOffWarning)
	}
	s.dc = dynamicconfig.NewMemoryClient()
	s.settled = make(chan struct{})
	srv, err := startTemporal(serverOptions(opts, ports, sqlCfg, s.frontendAddr, s.httpAddr, srvLogger, s.dc), srvLogger)
	if err != nil {
		return nil, explainStartError(err, ports)
	}
	s.temporal = srv
	logger.Debug("temporal services started", "frontend", s.frontendAddr, "database", dbDescription(s.dbPath))

	// Namespace and search attributes, through the public API.
	readyCtx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	c, err := dialClient(readyCtx, s.frontendAddr, opts.Namespace, logger)
	if err != nil {
		return nil, err
	}
	s.client = c
	if err := ensureNamespace(readyCtx, c, opts.Namespace, opts.Retention); err != nil {
		return nil, fmt.Errorf("namespace %q: %w", opts.Namespace, err)
	}
	added, err := ensureSearchAttributes(readyCtx, c, opts.Namespace, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("search attributes: %w", err)
	}
	if err := waitNamespaceUsable(readyCtx, c, opts.Namespace); err != nil {
		return nil, fmt.Errorf("namespace %q: %w", opts.Namespace, err)
	}

	s.settle(opts, added)
	if s.ui != nil {
		s.ui.serve()
	}
	logger.Info("temporal dev server ready",
		"frontend", s.frontendAddr, "ui", s.uiURL, "namespace", s.namespace, "database", dbDescription(s.dbPath))
	return s, nil
}

// settle turns the per-read search attribute refresh off: now when no
// attribute was added, searchAttributeSettle later when some were, never
// when the caller's dynamic config decides.
func (s *Server) settle(opts Options, added bool) {
	key := dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key()
	if callerSets(opts, key) {
		close(s.settled)
		return
	}
	done := func() {
		s.dc.OverrideValue(key, false)
		close(s.settled)
	}
	if !added {
		done()
		return
	}
	s.settleTimer = time.AfterFunc(searchAttributeSettle, done)
}

// Stop shuts down the UI and all Temporal services. It is safe to call more
// than once (later calls return the first call's result) and on a partially
// started server.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.settleTimer != nil {
			s.settleTimer.Stop()
		}
		var errs []error
		if s.ui != nil {
			if err := s.ui.close(); err != nil {
				errs = append(errs, fmt.Errorf("stopping web UI: %w", err))
			}
		}
		if s.client != nil {
			s.client.Close()
		}
		if s.temporal != nil {
			// The server routinely warns while shutting down; keep quiet unless
			// the caller asked for its logs.
			if s.quietOnEnd {
				s.logLevel.Set(slog.LevelError)
			}
			if err := s.temporal.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("stopping temporal server: %w", err))
			}
		}
		if s.unlock != nil {
			if err := s.unlock(); err != nil {
				errs = append(errs, fmt.Errorf("releasing data dir lock: %w", err))
			}
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

func (o *Options) applyDefaults() error {
	if o.IP == "" || o.IP == "localhost" {
		// The server needs an IP literal (it is used as a bind address).
		o.IP = DefaultIP
	}
	if net.ParseIP(o.IP) == nil {
		return fmt.Errorf("invalid IP %q: must be an IP address", o.IP)
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.Retention < 0 {
		return fmt.Errorf("invalid retention %v", o.Retention)
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := validPort("frontend", o.FrontendPort, false); err != nil {
		return err
	}
	if err := validPort("UI", o.UIPort, true); err != nil {
		return err
	}
	if err := validPort("HTTP", o.HTTPPort, true); err != nil {
		return err
	}
	for name, typ := range o.SearchAttributes {
		if name == "" {
			return errors.New("search attribute with empty name")
		}
		if _, ok := enums.IndexedValueType_name[int32(typ)]; !ok || typ == enums.INDEXED_VALUE_TYPE_UNSPECIFIED {
			return fmt.Errorf("search attribute %q: invalid type %v", name, typ)
		}
	}
	return nil
}

func validPort(what string, port int, allowDisabled bool) error {
	if port > 65535 || port < -1 || (port == -1 && !allowDisabled) {
		return fmt.Errorf("invalid %s port %d", what, port)
	}
	return nil
}

// portSet holds every port the server uses.
type portSet struct {
	frontend, http, ui        int // on Options.IP; http/ui are 0 when disabled
	history, matching, worker int // on loopbackIP
}

// resolvePorts checks the requested ports and picks free ones for the rest.
func resolvePorts(opts *Options) (portSet, error) {
	var p portSet
	want := 0 // free ports needed on opts.IP
	if opts.FrontendPort > 0 {
		if err := checkPortFree("frontend gRPC", opts.IP, opts.FrontendPort); err != nil {
			return p, err
		}
		p.frontend = opts.FrontendPort
	} else {
		want++
	}
	if opts.HTTPPort > 0 {
		if err := checkPortFree("frontend HTTP", opts.IP, opts.HTTPPort); err != nil {
			return p, err
		}
		p.http = opts.HTTPPort
	} else if opts.HTTPPort == 0 {
		want++
	}
	// The UI port is checked when its listener is bound.
	if opts.UIPort > 0 {
		p.ui = opts.UIPort
	} else if opts.UIPort == 0 {
		want++
	}

	// A port given on the command line is not bound yet: keep the picks off it.
	free, err := FreePorts(opts.IP, want, p.frontend, p.http, p.ui)
	if err != nil {
		return p, err
	}
	next := func() int { v := free[0]; free = free[1:]; return v }
	if p.frontend == 0 {
		p.frontend = next()
	}
	if opts.HTTPPort == 0 {
		p.http = next()
	}
	if opts.UIPort == 0 {
		p.ui = next()
	}

	// The internal ports are picked on another address, where the kernel may
	// offer a port just chosen above (nothing listens on it yet).
	internal, err := FreePorts(loopbackIP, 3, p.frontend, p.http, p.ui)
	if err != nil {
		return p, err
	}
	p.history, p.matching, p.worker = internal[0], internal[1], internal[2]
	return p, nil
}

// dialableHost maps a wildcard bind address to the matching loopback address.
func dialableHost(ip string) string {
	parsed := net.ParseIP(ip)
	if parsed != nil && parsed.IsUnspecified() {
		if parsed.To4() != nil {
			return "127.0.0.1"
		}
		return "::1"
	}
	return ip
}

// startTemporal constructs and starts the server. A Fatal log during startup
// (e.g. a gRPC port that cannot be bound) is turned into an error.
//
// If Start fails, services that did start are not stopped: the server offers
// no way to stop a server whose Start failed. The port checks done before
// make that unlikely.
func startTemporal(opts []temporal.ServerOption, logger *serverLogger) (_ temporal.Server, err error) {
	logger.panicOnFatal.Store(true)
	defer logger.panicOnFatal.Store(false)
	defer func() {
		if r := recover(); r != nil {
			if fe, ok := r.(fatalError); ok {
				err = fe
			} else {
				err = fmt.Errorf("panic: %v", r)
			}
		}
	}()
	srv, err := temporal.NewServer(opts...)
	if err != nil {
		return nil, fmt.Errorf("configuring services: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	return srv, nil
}

func explainStartError(err error, ports portSet) error {
	var opErr *net.OpError
	if errors.Is(err, syscall.EADDRINUSE) || (errors.As(err, &opErr) && opErr.Op == "listen") ||
		strings.Contains(err.Error(), "address already in use") {
		return fmt.Errorf("a port is already in use (frontend %d, HTTP %d, history %d, matching %d, worker %d): %w",
			ports.frontend, ports.http, ports.history, ports.matching, ports.worker, err)
	}
	return err
}

func dbDescription(path string) string {
	if path == "" {
		return "in-memory"
	}
	return path
}
