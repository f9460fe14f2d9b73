package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/temporalio/ui-server/v2/server/api"
	"github.com/temporalio/ui-server/v2/server/auth"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/cors"
	"github.com/temporalio/ui-server/v2/server/csrf"
	"github.com/temporalio/ui-server/v2/server/headers"
	"github.com/temporalio/ui-server/v2/server/route"
	"github.com/temporalio/ui-server/v2/server/rpc"
	"github.com/temporalio/ui-server/v2/ui"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/primitives"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
)

type uiConfig struct {
	ip               string
	port             int // 0 = any free port
	frontendAddress  string
	defaultNamespace string
	codecEndpoint    string
}

// uiServer serves the Temporal Web UI from the assets embedded in
// github.com/temporalio/ui-server.
//
// It assembles the same echo handler as ui-server's server.NewServer (v2.55.0)
// instead of using server.Server itself, because that type binds its port in
// Start and calls echo's Logger.Fatal — os.Exit — when the bind fails, never
// closes its gRPC connection to the frontend, and panics on configuration
// errors. Here the listener is bound up front (a busy port is an ordinary
// error), the gRPC connection is closed on shutdown, and errors are returned.
type uiServer struct {
	ln          net.Listener
	srv         *http.Server
	conn        *grpc.ClientConn
	cfgProvider *uiconfig.ConfigProviderWithRefresh
	served      chan struct{} // closed when Serve returns; nil until serve
	logger      *slog.Logger
}

func newUIServer(c uiConfig, logger *slog.Logger) (_ *uiServer, retErr error) {
	cfg := &uiconfig.Config{
		TemporalGRPCAddress: c.frontendAddress,
		Host:                c.ip,
		Port:                c.port,
		EnableUI:            true,
		DefaultNamespace:    c.defaultNamespace,
		Codec:               uiconfig.Codec{Endpoint: c.codecEndpoint},
		// Served over plain HTTP on a local address.
		CORS:     uiconfig.CORS{CookieInsecure: true},
		HideLogs: true,
		// Offline: no news or release checks against the internet.
		DisableNewsFetch:   true,
		NotifyOnNewVersion: false,
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("web UI config: %w", err)
	}
	// RefreshInterval is 0, so no refresh goroutine is started.
	cfgProvider, err := uiconfig.NewConfigProviderWithRefresh(cfg)
	if err != nil {
		return nil, fmt.Errorf("web UI config: %w", err)
	}

	ln, err := listenOn("Web UI", c.ip, c.port)
	if err != nil {
		return nil, err
	}
	s := &uiServer{ln: ln, cfgProvider: cfgProvider, logger: logger}
	defer func() {
		if retErr != nil {
			_ = s.close()
		}
	}()

	// grpc.Dial does not connect yet: the frontend need not be up.
	s.conn, err = dialFrontend(cfg.TemporalGRPCAddress)
	if err != nil {
		return nil, fmt.Errorf("web UI: connecting to frontend: %w", err)
	}

	handler, err := s.buildHandler(cfg)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(c.ip); ip != nil && ip.IsLoopback() {
		// On loopback the UI answers only loopback Host names: a
		// DNS-rebinding page would otherwise read /api/v1/settings (the
		// codec endpoint with its session secret) as same-origin.
		handler = codec.LoopbackHostOnly(handler)
	}
	s.srv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.With("component", "web-ui").Handler(), slog.LevelDebug),
	}
	return s, nil
}

// buildHandler mirrors server.NewServer of ui-server v2.55.0.
func (s *uiServer) buildHandler(cfg *uiconfig.Config) (http.Handler, error) {
	apiMiddleware := []api.Middleware{
		headers.WithForwardHeaders([]string{
			// The Authorization header itself is forwarded by grpc-gateway.
			auth.AuthorizationExtrasHeader,
			"Caller-Type",
		}),
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(io.Discard)

	e.Use(auditRefusals(s.logger))
	e.Use(middleware.Recover())
	e.Use(middleware.Gzip())
	e.Use(cors.CORSMiddleware(cors.CORSConfig{
		AllowHeaders: []string{
			echo.HeaderOrigin, echo.HeaderContentType, echo.HeaderAccept,
			echo.HeaderXCSRFToken, echo.HeaderAuthorization, auth.AuthorizationExtrasHeader,
			"Caller-Type",
		},
		AllowCredentials: true,
		ConfigProvider:   s.cfgProvider,
	}))
	e.Use(middleware.Secure())
	csrfCookieSecure := !cfg.CORS.CookieInsecure
	e.Use(csrf.EnsureTokenCookie(csrfCookieSecure))
	e.Use(middleware.CSRFWithConfig(csrf.MiddlewareConfig(s.cfgProvider, csrfCookieSecure)))

	e.Pre(route.PublicPath(cfg.PublicPath))
	route.SetHealthRoute(e)
	s.setAPIRoutes(e, apiMiddleware)
	route.SetAuthRoutes(e, s.cfgProvider)

	assets, err := ui.Assets()
	if err != nil {
		return nil, fmt.Errorf("web UI assets: %w", err)
	}
	assets, err = fs.Sub(assets, "local")
	if err != nil {
		return nil, fmt.Errorf("web UI assets: %w", err)
	}
	if err := route.SetUIRoutes(e, cfg.PublicPath, assets, s.cfgProvider); err != nil {
		return nil, fmt.Errorf("web UI routes: %w", err)
	}
	route.SetRenderRoute(e, "/")
	return e, nil
}

// setAPIRoutes is route.SetAPIRoutes with our own (closable) connection.
func (s *uiServer) setAPIRoutes(e *echo.Echo, apiMiddleware []api.Middleware) {
	g := e.Group("/api/v1")
	g.GET("/settings", api.GetSettings(s.cfgProvider))
	g.GET("/releases", api.GetLatestReleases(s.cfgProvider, api.NewReleaseChecker()))
	g.GET("/ui-extensions", api.GetUIExtensions(s.cfgProvider, api.TemporalAccessCheck(s.conn, apiMiddleware)))
	writeControl := route.DisableWriteMiddleware(s.cfgProvider)
	g.GET(api.WorkflowRawHistoryUrl,
		api.WorkflowRawHistoryHandler(workflowservice.NewWorkflowServiceClient(s.conn)),
		writeControl)
	g.Match([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, "/*",
		api.TemporalAPIHandler(s.cfgProvider, apiMiddleware, s.conn), writeControl)
}

// port is the bound port.
func (s *uiServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// serve starts serving in the background.
func (s *uiServer) serve() {
	s.served = make(chan struct{})
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("web UI server failed", "error", err)
		}
	}()
}

// close stops serving (waiting briefly for in-flight requests) and releases
// the listener and the gRPC connection.
func (s *uiServer) close() error {
	var errs []error
	if s.served != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
		<-s.served
	} else if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		errs = append(errs, err)
	}
	if s.conn != nil {
		if err := s.conn.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	s.cfgProvider.Close()
	return errors.Join(errs...)
}

// dialFrontend connects the UI's API proxy to the frontend like ui-server's
// rpc.Dial (v2.55.0: plain gRPC, round robin, 10s maximum reconnect
// backoff, 64 MiB messages), plus clampHistoryPageSize.
func dialFrontend(addr string) (*grpc.ClientConn, error) {
	cp := grpc.ConnectParams{Backoff: backoff.DefaultConfig, MinConnectTimeout: 20 * time.Second}
	cp.Backoff.MaxDelay = rpc.MaxBackoffDelay
	return grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(clampHistoryPageSize),
		grpc.WithDefaultServiceConfig(rpc.DefaultServiceConfig),
		grpc.WithDisableServiceConfig(),
		grpc.WithConnectParams(cp),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)),
	)
}

// clampHistoryPageSize lowers the page size of the UI's history requests
// to the most the frontend serves (primitives.GetHistoryMaxPageSize, 256
// events). The Web UI asks for 1000 events a page; the frontend cuts the
// page to 256 anyway, but first logs "GetHistory page size is larger than
// threshold" at WARN for every such request, so opening any run in the UI
// logged a warning. The pages the UI gets are the same either way (it
// follows next_page_token). The limit is a constant in the server, not a
// dynamic config setting, which is why the request is changed here.
func clampHistoryPageSize(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	switch r := req.(type) {
	case *workflowservice.GetWorkflowExecutionHistoryRequest:
		if r.GetMaximumPageSize() > primitives.GetHistoryMaxPageSize {
			r.MaximumPageSize = primitives.GetHistoryMaxPageSize
		}
	case *workflowservice.GetWorkflowExecutionHistoryReverseRequest:
		if r.GetMaximumPageSize() > primitives.GetHistoryMaxPageSize {
			r.MaximumPageSize = primitives.GetHistoryMaxPageSize
		}
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// auditRefusals writes an audit record for every state-changing request
// the UI server refuses (its CSRF and CORS checks answer 400, 401 or 403):
// a cross-site POST at the UI is an attack on the gates like one at the
// API. Reads are not audited.
func auditRefusals(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			r := c.Request()
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
				return err
			}
			status := c.Response().Status
			refusal := http.StatusText(status)
			var he *echo.HTTPError
			if errors.As(err, &he) {
				status, refusal = he.Code, fmt.Sprint(he.Message)
			}
			if status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden {
				logger.Warn("audit: web UI request refused", "remote", r.RemoteAddr, "method", r.Method,
					"path", r.URL.Path, "status", status, "refusal", refusal)
			}
			return err
		}
	}
}
