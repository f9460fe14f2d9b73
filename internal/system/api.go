package system

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/identity"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/pbstore"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/safefile"
	"github.com/riposte-dev/riposte/internal/telemetry"
	"github.com/riposte-dev/riposte/workflows"
)

// APIOptions configure the HTTP API.
type APIOptions struct {
	// Addr is a port (bound on loopback) or host:port; "0" picks a free
	// port.
	Addr string
	// Token is the shared API token ("" = personal tokens only); Tokens
	// the personal tokens; DevUser the identity the shared token decides
	// as.
	Token   string
	Tokens  *auth.Store
	DevUser string
	// OIDC verifies IdP bearer tokens (nil: off; see auth.OIDCVerifier).
	OIDC    auth.Verifier
	MaxBody int64
	// UIURL is the public Temporal UI for run links (the embedded
	// server's UI when empty).
	UIURL string
	// Playbooks are the playbook files and directories; any invalid one
	// refuses start. SIGHUP and POST /v1/playbooks/reload reload them.
	Playbooks []string
	// Config is riposte.yaml, for its detections: section ("" or a missing
	// file = the default finding view settings).
	Config string
	// Policy is the policy file the workers of this process read, when
	// it knows it (riposte dev); serve does not (workers take --policy).
	Policy    string
	RateLimit api.RateLimit
	// Codec serves /codec for the Temporal UI (needs Options.Keys). With
	// an embedded server the UI's loopback origins may call it with the
	// API token; else CodecOrigins may, with any credential the API
	// accepts (shared or personal token, OIDC bearer) of the read scope.
	Codec        bool
	CodecOrigins []string
	// Extra adds routes behind the API token, built once the client runs.
	Extra func(*System) map[string]http.Handler
	// AuditLogger receives the API's audit records (nil = Logger).
	AuditLogger *slog.Logger
	// PlaybookInput is how runs carry their playbook: "reference" (name,
	// version, digest; the worker loads that version from its store),
	// "inline" (the whole playbook, as releases before), or "auto"/"":
	// by reference when the worker is in this process, else when every
	// worker polling the task queue can load playbooks by reference.
	PlaybookInput string
}

// PlaybookInputModes are the values of APIOptions.PlaybookInput.
var PlaybookInputModes = []string{"auto", "reference", "inline"}

// API is a started HTTP API.
type API struct {
	URL     string
	server  *http.Server
	source  *playbookSource
	done    chan error
	closers []func()
	// draining: GET /healthz answers 503 (see Drain).
	draining atomic.Bool
}

// Drain makes GET /healthz answer 503 while every other request is still
// served: a process told to stop says so to the load balancers that
// health-check it, and keeps answering the connections they route to it
// until they have taken it out of rotation (Close then drains what is in
// flight).
func (a *API) Drain() {
	if a != nil {
		a.draining.Store(true)
	}
}

// apiBuild is what prepareAPI checked before anything started.
type apiBuild struct {
	o        APIOptions
	ln       net.Listener
	url      string
	set      *playbook.Set
	files    int
	defaults workflows.ApprovalDefaults
	finding  finding.Config
	codec    bool
}

func (b *apiBuild) closeListener() {
	if b.ln != nil {
		_ = b.ln.Close()
	}
}

// prepareAPI validates the API's settings and files and binds its address
// (first, so that the embedded UI knows the codec endpoint's URL).
func prepareAPI(o APIOptions, logger *slog.Logger) (*apiBuild, error) {
	addr, err := ListenAddr("--http", o.Addr)
	if err != nil {
		return nil, &Error{Code: 2, Err: err}
	}
	b := &apiBuild{o: o, codec: o.Codec}
	switch o.PlaybookInput {
	case "", "auto", "reference", "inline":
	default:
		return nil, &Error{Code: 2, Err: fmt.Errorf("--playbook-input %q: want %s", o.PlaybookInput, strings.Join(PlaybookInputModes, ", "))}
	}
	var diags playbook.Diagnostics
	var site []playbook.SiteFile
	if b.set, b.files, diags, site = playbook.LoadSite(o.Playbooks, activities.Catalog()); len(diags) > 0 {
		if b.files == 0 {
			// Nothing was read: the path is the problem, not a playbook
			// (riposte dev run outside the repository, a wrong mount).
			return nil, &Error{Code: 1, Err: fmt.Errorf("cannot read the playbooks at %s (--playbooks or RIPOSTE_PLAYBOOKS names them); not starting:\n%w", strings.Join(o.Playbooks, ", "), diags)}
		}
		return nil, &Error{Code: 1, Err: fmt.Errorf("playbooks are invalid; not starting:\n%w", diags)}
	}
	logSiteFiles(logger, site, o.Policy, o.Config)
	if b.defaults, err = approvalDefaults(); err != nil {
		return nil, &Error{Code: 2, Err: err}
	}
	if ok, err := exists(o.Config); err != nil {
		return nil, err
	} else if ok {
		var diags config.Diagnostics
		b.finding, diags, err = config.LoadDetections(o.Config)
		for _, d := range diags.Warnings() {
			logger.Warn("detection settings", "warning", d.String())
		}
		if err != nil {
			return nil, &Error{Code: 1, Err: fmt.Errorf("detection settings are invalid; not starting:\n%w", err)}
		}
	}
	if b.ln, err = net.Listen("tcp", addr); err != nil {
		return nil, fmt.Errorf("listening for the HTTP API on %s: %w", addr, err)
	}
	b.url = "http://" + b.ln.Addr().String()
	return b, nil
}

// runRevision is how runs started by the API carry their playbook, for
// --playbook-input mode (dispatch.Dispatcher's Rev and ByReference):
// "inline" always inline (no Rev); with the worker in this process (riposte
// dev) by reference at this release's revision; "reference" by reference
// whatever the pollers announce, at the revision they all run; "auto" (or
// "") as the pollers announce.
func runRevision(mode string, inProcess bool, pollers func(context.Context) int) (rev func(context.Context) int, byReference bool) {
	switch {
	case mode == "inline":
		return nil, false
	case inProcess:
		// The worker in this process shares the store and is this release.
		return func(context.Context) int { return workflows.LatestRev }, false
	case mode == "reference":
		// By reference whatever the workers say; at the revision they all
		// run, which is at least RevByReference for any worker that loads
		// playbooks by reference.
		return pollers, true
	default:
		return pollers, false
	}
}

// startAPI serves the HTTP API on the bound listener.
func (s *System) startAPI(ctx context.Context, o Options, b *apiBuild) error {
	ao := b.o
	uiURL := ao.UIURL
	if uiURL == "" && s.Server != nil {
		uiURL = s.Server.UIURL()
	}
	validator, err := intake.NewValidator()
	if err != nil {
		return err
	}
	disp := &dispatch.Dispatcher{Client: s.Client, Keys: s.DecisionKeys, TaskQueue: s.Temporal.TaskQueue, Namespace: s.Temporal.Namespace,
		UIURL: uiURL, Approval: b.defaults, Metrics: s.Metrics, Finding: b.finding, DataConverter: s.dataConverter}
	// Who polls the task queue: how runs carry their playbook (Rev), and
	// whether decisions may seal the decider's credential.
	pollers := &engine.WorkersByReference{Client: s.Client, TaskQueue: s.Temporal.TaskQueue}
	sealsCredential, sealsControl, sealsRun, sealsMark := pollers.SealsCredential, pollers.SealsControlCredential, pollers.SealsRun, pollers.SealsRolledBackRun
	if s.Worker != nil {
		// The worker in this process is this release.
		sealsCredential = func(context.Context) bool { return true }
		sealsControl, sealsRun, sealsMark = sealsCredential, sealsCredential, sealsCredential
	}
	disp.Rev, disp.ByReference = runRevision(ao.PlaybookInput, s.Worker != nil, pollers.Rev)
	src := &playbookSource{paths: ao.Playbooks, store: s.Playbooks, disp: disp, logger: s.logger, policy: ao.Policy, config: ao.Config}
	src.apply(b.set, b.files)
	audit := ao.AuditLogger
	if audit == nil {
		audit = s.logger
	}
	srv := &api.Server{
		Metrics:                s.Metrics,
		Dispatcher:             disp,
		Catalog:                activities.Catalog(),
		Temporal:               s.Client,
		Validator:              validator,
		Token:                  ao.Token,
		DevUser:                ao.DevUser,
		Tokens:                 ao.Tokens,
		OIDC:                   ao.OIDC,
		Keys:                   s.DecisionKeys,
		SealsControlCredential: sealsControl,
		SealsRun:               sealsRun,
		SealsRolledBackRun:     sealsMark,
		MaxBody:                ao.MaxBody,
		Namespace:              s.Temporal.Namespace,
		UIURL:                  uiURL,
		Logger:                 audit,
		Reload:                 src.load,
		Approvals:              &approvals.Service{Client: s.Client, Namespace: s.Temporal.Namespace, Keys: s.DecisionKeys, SealsCredential: sealsCredential, SealsRun: sealsRun, DataConverter: s.dataConverter},
		Public:                 map[string]http.Handler{},
		Extra:                  map[string]http.Handler{},
		RateLimit:              ao.RateLimit,
	}
	if s.Metrics != nil {
		// Runs waiting for a decision, asked of Temporal's visibility on
		// scrape.
		s.Metrics.WatchApprovalsPending(telemetry.CountWorkflows(s.Client, s.Temporal.Namespace, workflows.PendingApprovalsQuery()), 0)
		// Runs Temporal terminated or timed out never run the worker
		// interceptor that counts runs finished: counted from visibility.
		s.Metrics.WatchClosedRuns(ctx, telemetry.ClosedRunsOptions{Client: s.Client, Namespace: s.Temporal.Namespace,
			Query: workflows.PlaybookRunsQuery, PlaybookAttribute: workflows.SAPlaybookName.GetName(), Logger: s.logger})
		srv.Public["GET /metrics"] = s.Metrics.Handler()
	}
	if b.codec && s.Keys != nil {
		if s.Server != nil {
			// The embedded UI's calls carry the per-start session secret
			// in their path; only loopback Host headers (DNS rebinding).
			srv.Public["/codec/"] = codec.LoopbackHostOnly(codec.Handler(s.Keys, codec.HandlerOptions{
				Prefix: "/codec", AllowedOrigins: codec.LoopbackOrigins(s.Server.UIURL()),
				Authorize: codec.DevAuthorizer(ao.Token, s.CodecSession),
			}))
		} else {
			// The UI's codec calls carry its user's OIDC access token
			// (codec.passAccessToken), the CLI's an API token: any
			// credential the API accepts, with the read scope.
			srv.Public["/codec/"] = codec.Handler(s.Keys, codec.HandlerOptions{
				Prefix: "/codec", AllowedOrigins: ao.CodecOrigins, Authorize: srv.Authorizer(auth.ScopeRead),
			})
		}
	}
	if l := s.Lab; l != nil {
		// The lab holds fake vendor state only; its page needs no token.
		srv.Public["GET /lab"] = l.Handler()
		srv.Extra["GET /v1/lab"] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(l.State())
		})
	}
	if ao.Extra != nil {
		mount(srv.Extra, ao.Extra(s))
	}
	closers, err := s.mountSlack(ctx, srv)
	if err != nil {
		return err
	}
	var h http.Handler = srv.Handler()
	if o.Telemetry != nil {
		h = telemetry.HTTPMiddleware(s.Metrics, h, api.LogPath)
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	a := &API{URL: b.url, server: hs, source: src, done: make(chan error, 1), closers: closers}
	inner := hs.Handler
	hs.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && a.draining.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"shutting down"}` + "\n"))
			return
		}
		inner.ServeHTTP(w, r)
	})
	ln := b.ln
	b.ln = nil // owned by the server from here on
	go func() {
		err := hs.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		a.done <- err
	}()
	stopHUP := src.watchHUP(ctx)
	s.API = a
	s.closers = append(s.closers, a.stop, stopHUP)
	return nil
}

// stop shuts the API down gracefully.
func (a *API) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = a.server.Shutdown(ctx)
	for _, c := range a.closers {
		c()
	}
}

// playbookSource loads playbooks and reloads them on demand.
type playbookSource struct {
	paths []string
	// store keeps every version loaded, by digest, before any run can
	// refer to it (nil = none).
	store  *pbstore.Store
	disp   *dispatch.Dispatcher
	logger *slog.Logger
	// policy and config are the files in effect (APIOptions), for what a
	// reload logs about a site file it skips (siteFileNote).
	policy, config string
	mu             sync.Mutex
}

// load validates every playbook; on any problem the current set stays.
func (p *playbookSource) load() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	set, files, diags, site := playbook.LoadSite(p.paths, activities.Catalog())
	if len(diags) > 0 {
		return diags
	}
	if p.store != nil {
		if err := p.store.AddSet(set); err != nil {
			return err
		}
	}
	// As start-up does: a Compose file or a policy.yaml added beside the
	// playbooks is said to be skipped, not silently left out.
	logSiteFiles(p.logger, site, p.policy, p.config)
	p.applyLocked(set, files)
	return nil
}

func (p *playbookSource) apply(set *playbook.Set, files int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.applyLocked(set, files)
}

func (p *playbookSource) applyLocked(set *playbook.Set, files int) {
	p.disp.SetPlaybooks(set)
	names := make([]string, 0, len(set.Playbooks))
	for _, c := range set.Playbooks {
		names = append(names, fmt.Sprintf("%s@v%d", c.Playbook.Name, c.Playbook.Version))
	}
	p.logger.Info("playbooks loaded", "count", len(set.Playbooks), "files", files, "playbooks", strings.Join(names, ","))
}

// watchHUP reloads playbooks on SIGHUP until ctx ends or stop is called
// (System.Close: a system closed under a context that goes on, as serve's
// when its API fails, or the systems riposte dev, the benchmark and tests
// start one after another in one process, must not go on watching). stop
// returns once nothing watches and no reload runs.
func (p *playbookSource) watchHUP(ctx context.Context) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-done:
				return
			case <-ch:
				if err := p.load(); err != nil {
					p.logger.Error("reload refused: playbooks invalid; keeping the previous set", "diagnostics", err.Error())
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
		})
		<-exited
	}
}

// approvalDefaults reads the site's approval defaults from the environment:
// RIPOSTE_APPROVERS and RIPOSTE_APPROVER_GROUPS (comma-separated Slack ids),
// RIPOSTE_APPROVAL_TIMEOUT (e.g. 30m) and RIPOSTE_APPROVAL_CHANNEL.
func approvalDefaults() (workflows.ApprovalDefaults, error) {
	d := workflows.ApprovalDefaults{
		Users:   SplitList(os.Getenv("RIPOSTE_APPROVERS")),
		Groups:  SplitList(os.Getenv("RIPOSTE_APPROVER_GROUPS")),
		Channel: strings.TrimSpace(os.Getenv("RIPOSTE_APPROVAL_CHANNEL")),
	}
	if t := strings.TrimSpace(os.Getenv("RIPOSTE_APPROVAL_TIMEOUT")); t != "" {
		v, err := playbook.ParseDuration(t)
		if err != nil {
			return d, fmt.Errorf("RIPOSTE_APPROVAL_TIMEOUT: %w", err)
		}
		d.Timeout = v
	}
	// Gates compare their approvers with the Slack user id of whoever
	// decides: an email or a name here could never decide a gate.
	for _, u := range d.Users {
		if !identity.IsSlackUserID(u) {
			return d, fmt.Errorf("RIPOSTE_APPROVERS: %q is not a Slack user id (U… or W…); list the approvers' Slack user ids, comma-separated", u)
		}
	}
	for _, g := range d.Groups {
		if !identity.IsSlackGroupID(g) {
			return d, fmt.Errorf("RIPOSTE_APPROVER_GROUPS: %q is not a Slack user group id (S…); list the groups' ids, comma-separated", g)
		}
	}
	// A person (or group) listed twice counts once, as in a playbook's and
	// policy.yaml's approvers: a quorum counting the list could never be
	// met, and the gate would follow on_timeout instead of the people named.
	if err := listedOnce("RIPOSTE_APPROVERS", d.Users); err != nil {
		return d, err
	}
	if err := listedOnce("RIPOSTE_APPROVER_GROUPS", d.Groups); err != nil {
		return d, err
	}
	return d, nil
}

// listedOnce refuses a list naming one id twice (compared as gates compare
// identities: case and look-alike spellings do not make two people).
func listedOnce(env string, ids []string) error {
	seen := map[string]int{}
	for i, id := range ids {
		n := identity.Normalize(id)
		if j, dup := seen[n]; dup {
			return fmt.Errorf("%s: %q is already listed (entry %d of the list; %q is entry %d); list each id once", env, id, i+1, ids[j], j+1)
		}
		seen[n] = i
	}
	return nil
}

// SplitList splits a comma-separated list, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// logSiteFiles logs each file under the playbook paths that start-up or
// a reload skipped (siteFileNote). --playbooks . at a project's top: its
// policy.yaml and riposte.yaml are read by --policy and --config, not as
// playbooks; other tools' YAML (Kubernetes manifests, Compose files) by
// nobody here.
func logSiteFiles(logger *slog.Logger, site []playbook.SiteFile, policy, config string) {
	for _, sf := range site {
		level, msg := siteFileNote(sf, policy, config)
		holds := sf.Kind
		if sf.What != "" {
			holds = sf.What
		}
		logger.Log(context.Background(), level, msg, "file", sf.Path, "holds", holds)
	}
}

// siteFileNote is what start-up (and a reload) logs about a site file found under the
// playbook paths (playbook.SiteKind): INFO when it is the file in effect
// (--playbooks . at a project's top), else WARN, because a policy or
// configuration put beside the playbooks is read by nobody there: before
// site files were told apart it refused start as a broken playbook, and
// its guardrails must not now be assumed to apply without a word.
//
// Another tool's YAML (playbook.Foreign: a Kubernetes manifest, a Compose
// file) is said at INFO, with what it holds: it is no playbook, and no
// part of Riposte reads it.
func siteFileNote(sf playbook.SiteFile, policy, config string) (slog.Level, string) {
	switch sf.Kind {
	case playbook.SiteOther:
		return slog.LevelInfo, "playbooks: another tool's YAML, not a playbook, skipped"
	case playbook.SitePolicy:
		if policy != "" && safefile.Same(sf.Path, policy) {
			return slog.LevelInfo, "playbooks: not a playbook, skipped (it is the policy in effect)"
		}
		if policy == "" {
			return slog.LevelWarn, "playbooks: a policy file under the playbook paths is not a playbook, skipped; the guardrails are the file the workers name by --policy / RIPOSTE_POLICY, this one only if they name it"
		}
		return slog.LevelWarn, "playbooks: a policy file under the playbook paths is not a playbook, skipped; it is not the policy in effect (--policy / RIPOSTE_POLICY " + policy + "), so its guardrails do not apply"
	default:
		if config != "" && safefile.Same(sf.Path, config) {
			return slog.LevelInfo, "playbooks: not a playbook, skipped (it is the configuration in effect)"
		}
		if config == "" {
			return slog.LevelWarn, "playbooks: a riposte.yaml under the playbook paths is not a playbook, skipped; no --config / RIPOSTE_CONFIG names a configuration, so nothing reads it"
		}
		return slog.LevelWarn, "playbooks: a riposte.yaml under the playbook paths is not a playbook, skipped; it is not the configuration in effect (--config / RIPOSTE_CONFIG " + config + "), so nothing reads it"
	}
}
