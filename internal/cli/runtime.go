package cli

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/telemetry"
	"github.com/riposte-dev/riposte/workflows"
)

// runtimeFlags are the worker-side files: vendor connections and policy.
type runtimeFlags struct {
	Config string
	Policy string
	// StickyCache is the process's sticky workflow cache size.
	StickyCache int
	// envErr is a bad value in an environment variable behind a flag.
	envErr error
	// Slack, when set, replaces the SLACK_* environment (riposte dev's
	// Slack fake).
	Slack *slackapp.Config
}

func (f *runtimeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.Config, "config", envOr("RIPOSTE_CONFIG", "riposte.yaml"), "vendor connections file (env RIPOSTE_CONFIG); optional")
	fs.StringVar(&f.Policy, "policy", envOr("RIPOSTE_POLICY", "policy.yaml"), "site guardrails file (env RIPOSTE_POLICY); optional")
	def, err := envInt("RIPOSTE_STICKY_CACHE", engine.DefaultStickyCacheSize)
	f.envErr = err
	fs.IntVar(&f.StickyCache, "sticky-cache", def,
		"runs kept in worker memory between workflow tasks (at least 1); others are replayed from history when they wake (env RIPOSTE_STICKY_CACHE)")
}

// check reports bad values, from flags or the environment.
func (f *runtimeFlags) check() error {
	if f.envErr != nil {
		return f.envErr
	}
	if f.StickyCache < 1 {
		return fmt.Errorf("--sticky-cache %d: must be at least 1", f.StickyCache)
	}
	return nil
}

// envInt reads an integer environment variable; unset gives def, a value
// that is not a whole number an error naming the variable.
func envInt(name string, def int) (int, error) {
	s, ok := os.LookupEnv(name)
	if !ok || s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return def, fmt.Errorf("%s=%q: must be a whole number", name, s)
	}
	return v, nil
}

// exists reports whether a file exists; other stat errors are returned.
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return false, err
}

// loadConnections reads riposte.yaml when present. ok is false when there
// is no file (riposte dev then starts the lab).
func loadConnections(path string, logger *slog.Logger) (map[string]activities.Connection, bool, error) {
	ok, err := exists(path)
	if err != nil || !ok {
		return nil, false, err
	}
	conns, diags, err := config.LoadConnections(path)
	for _, d := range diags.Warnings() {
		logger.Warn("connection config", "warning", d.String())
	}
	if err != nil {
		return nil, false, &exitError{code: 1, err: fmt.Errorf("connection config is invalid; not starting:\n%w", err)}
	}
	return conns, true, nil
}

// newWorker builds the worker with its guardrails, Slack poster and the
// telemetry interceptor (step metrics and step-aware activity logs; m may
// be nil).
func newWorker(c client.Client, taskQueue string, env *activities.Env, rf runtimeFlags, logger *slog.Logger, m *telemetry.Metrics, keys *signing.Keys) (*engineWorker, error) {
	policyPath := ""
	if ok, err := exists(rf.Policy); err != nil {
		return nil, err
	} else if ok {
		policyPath = rf.Policy
	}
	g, err := activities.NewGuardrails(c, taskQueue, policyPath, logger)
	if err != nil {
		return nil, &exitError{code: 1, err: fmt.Errorf("policy is invalid; not starting: %w", err)}
	}
	scfg := slackapp.ConfigFromEnv()
	if rf.Slack != nil {
		scfg = *rf.Slack
	}
	var poster *slackapp.Poster
	if scfg.Enabled() {
		if err := scfg.Validate(); err != nil {
			return nil, &exitError{code: 2, err: fmt.Errorf("Slack configuration: %w", err)}
		}
		poster, err = slackapp.NewPoster(scfg, slackapp.PosterOptions{Logger: logger})
		if err != nil {
			return nil, err
		}
		env.Slack = poster
	}
	// Process-wide; takes effect when the first worker starts. The flags
	// were checked by the command; a zero value means the default.
	sticky := rf.StickyCache
	if sticky <= 0 {
		sticky = engine.DefaultStickyCacheSize
	}
	worker.SetStickyWorkflowCacheSize(sticky)
	w, err := engine.NewWorker(c, engine.WorkerOptions{TaskQueue: taskQueue, Env: env, Guardrails: g, Slack: poster, Keys: keys,
		Worker: worker.Options{Interceptors: []interceptor.WorkerInterceptor{
			telemetry.NewWorkerInterceptor(telemetry.WorkerInterceptorOptions{Metrics: m, Catalog: activities.Catalog(),
				IsPlaybookRun: workflows.IsPlaybookWorkflowType, PlaybookAttribute: workflows.SAPlaybookName.GetName()}),
		}}})
	if err != nil {
		return nil, err
	}
	return &engineWorker{Worker: w, Policy: policyPath}, nil
}

// engineWorker is a built worker and the policy file it enforces.
type engineWorker struct {
	worker.Worker
	Policy string
}

// encryptionFlags choose the payload encryption keys of worker and serve.
type encryptionFlags struct {
	Disabled bool
}

func (f *encryptionFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.Disabled, "no-encryption", envOr("RIPOSTE_NO_ENCRYPTION", "") == "true",
		"store payloads in clear text in Temporal (env RIPOSTE_NO_ENCRYPTION=true); by default RIPOSTE_CODEC_KEY_FILE or RIPOSTE_CODEC_KEYS is required")
}

// clientOptions returns the client option hook that installs the codec.
func (f *encryptionFlags) clientOptions() (func(*client.Options), *codec.Keyring, error) {
	if f.Disabled {
		return nil, nil, nil
	}
	k, err := codec.KeyringFromEnv()
	if errors.Is(err, codec.ErrNoKeyring) {
		return nil, nil, &exitError{code: 2, err: fmt.Errorf("payload encryption is on by default: set %s (a key file) or %s, or pass --no-encryption", codec.EnvKeyFile, codec.EnvKeys)}
	}
	if err != nil {
		return nil, nil, &exitError{code: 2, err: err}
	}
	return func(o *client.Options) { codec.ConfigureClientOptions(o, k) }, k, nil
}

// decisionKeys returns the keys that seal and verify human decisions:
// RIPOSTE_DECISION_KEY_FILE / RIPOSTE_DECISION_KEYS when set, else derived
// from the payload encryption keys. Without either, serve and worker refuse
// to start: a worker without them would accept no decision at all.
func decisionKeys(codecKeys *codec.Keyring) (*signing.Keys, error) {
	k, ok, err := signing.FromEnv()
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	if ok {
		return k, nil
	}
	if codecKeys == nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("decisions are signed: with --no-encryption set %s (a key file in the codec key format) on every serve and worker process", signing.EnvKeyFile)}
	}
	return signing.FromCodec(codecKeys), nil
}
