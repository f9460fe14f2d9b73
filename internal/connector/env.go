package connector

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/slackapp"
)

// SlackPoster is the Slack client of the slack.* actions and the approval
// activities (Env.Slack). nil means Slack is not configured.
type SlackPoster = slackapp.Poster

// Call is the input of every action activity (see catalog.Call).
type Call = catalog.Call

// Handler implements one action.
type Handler func(ctx context.Context, env *Env, call Call) (map[string]any, error)

// Definition is one catalog entry with its implementation.
type Definition struct {
	catalog.Action
	Run Handler
}

// Env is what handlers share: configuration, HTTP client, logger.
type Env struct {
	HTTP   *http.Client
	Logger *slog.Logger
	// Connections holds the configured vendor connections by name.
	Connections map[string]Connection
	// Slack posts slack.* actions; nil when Slack is not configured.
	Slack *SlackPoster
	// CallTimeout bounds each vendor HTTP request, on top of the activity's
	// own deadline (default 30s).
	CallTimeout time.Duration
	// MaxRetryDelay caps the wait a vendor's rate-limit headers may ask
	// for before Temporal retries (default 5m).
	MaxRetryDelay time.Duration
	// PriorCall reports whether the run call's run was reset from (see
	// catalog.Call.ResetFrom) made the same call (step, index, action) and
	// it applied its containment. Set
	// by the worker (it reads that run's history); nil: never known.
	PriorCall func(ctx context.Context, call Call) (applied bool, err error)

	// tokens caches OAuth2 bearer tokens per connection, in process only.
	tokens *tokenCache
	// transport is used when HTTP has no Transport of its own (NewEnv
	// sets it to NewTransport; nil means Go's default).
	transport http.RoundTripper
	// memo: see Recall and Remember.
	memo *memo
}

// Connection is a configured vendor endpoint. Secret values are read from
// env vars or files only when a handler needs them.
type Connection struct {
	Type    string
	BaseURL string
	Options map[string]string
	Secrets map[string]SecretRef
}

// SecretRef points at a secret without holding it: an env var name or a
// file path, resolved by the handler at call time (see Resolve).
type SecretRef struct {
	Env  string
	File string
	// Lab holds a literal value. It exists ONLY for the fake vendor lab
	// (internal/lab), whose credentials are public test constants; the
	// config loader never produces it.
	Lab string
}

// NewEnv returns an Env with sane defaults.
func NewEnv(logger *slog.Logger) *Env {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Env{
		HTTP:          &http.Client{Timeout: 30 * time.Second},
		transport:     NewTransport(),
		Logger:        logger,
		Connections:   map[string]Connection{},
		CallTimeout:   defaultCallTimeout,
		MaxRetryDelay: defaultMaxRetryDelay,
		tokens:        newTokenCache(),
	}
}

// IdleConnsPerHost is how many idle connections to one vendor host the
// connectors' transport keeps (NewTransport).
const IdleConnsPerHost = 64

// NewTransport is the connectors' HTTP transport when Env.HTTP has none
// of its own: Go's default (proxy from the environment, HTTP/2, its
// timeouts) keeping up to IdleConnsPerHost idle connections per host
// instead of 2. A worker calls one vendor from many activities at once;
// with 2, every call beyond the second in flight opened a connection (for
// HTTPS, a TLS handshake) and closed it after. (The AWS connector keeps
// the AWS SDK's own client in that case, which pools its connections and
// honours AWS_CA_BUNDLE.)
func NewTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = IdleConnsPerHost
	tr.MaxIdleConns = 4 * IdleConnsPerHost
	return tr
}

// NonRetryable marks an error that retrying cannot fix (bad input, 4xx).
func NonRetryable(errType, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), errType, nil)
}

// memo holds small facts learned from vendors (a discovered cloud),
// per Env, in process only.
type memo struct {
	mu sync.Mutex
	m  map[string]string
}

var memoInit sync.Mutex

func (e *Env) memoMap() *memo {
	memoInit.Lock()
	defer memoInit.Unlock()
	if e.memo == nil {
		e.memo = &memo{m: map[string]string{}}
	}
	return e.memo
}

// Recall returns a fact remembered with Remember.
func (e *Env) Recall(key string) (string, bool) {
	m := e.memoMap()
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[key]
	return v, ok
}

// Remember keeps a fact learned from a vendor for later calls.
func (e *Env) Remember(key, value string) {
	m := e.memoMap()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[key] = value
}
