package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/internal/system"
)

// runtimeFlags are the worker-side files: vendor connections and policy.
type runtimeFlags struct {
	Config string
	Policy string
	// StickyCache is the process's sticky workflow cache size.
	StickyCache int
	// PlaybookStore keeps every playbook version by digest, shared by
	// serve and workers (riposte dev: in its data dir).
	PlaybookStore string
	// envErr is a bad value in an environment variable behind a flag.
	envErr error
	// fs is the flag set registered on, to tell a --config or --policy
	// someone gave from the implicit defaults.
	fs *flag.FlagSet
}

func (f *runtimeFlags) register(fs *flag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.Config, "config", config.Env("RIPOSTE_CONFIG", "riposte.yaml"), "vendor connections file (env RIPOSTE_CONFIG); optional")
	fs.StringVar(&f.Policy, "policy", config.Env("RIPOSTE_POLICY", "policy.yaml"), "site guardrails file (env RIPOSTE_POLICY); optional")
	fs.StringVar(&f.PlaybookStore, "playbook-store", config.Env("RIPOSTE_PLAYBOOK_STORE", ""),
		"directory keeping every playbook version by digest, shared by serve and workers, so runs find the version they started with (env RIPOSTE_PLAYBOOK_STORE; riposte dev: <data-dir>/playbook-store)")
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

// checkFiles refuses a --policy that was given (flag or RIPOSTE_POLICY)
// but does not exist: only the implicit ./policy.yaml is optional. A named
// policy file that is missing would otherwise run the worker without any
// site guardrails. (riposte.yaml stays optional wherever it is named:
// deploy/config ships without one, connections are added when needed.)
func (f *runtimeFlags) checkFiles() error {
	// --policy "" asks for no policy on purpose.
	if f.Policy == "" || !f.explicit("policy", "RIPOSTE_POLICY") {
		return nil
	}
	if _, err := os.Stat(f.Policy); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("--policy %s (or RIPOSTE_POLICY): no such file; not starting without site guardrails (protected assets, budgets, confidence floor). To run without a policy on purpose, give --policy \"\" or set RIPOSTE_POLICY= (empty; the container image sets it to /etc/riposte/config/policy.yaml)", f.Policy)
	}
	return nil
}

// explicit reports whether the flag name was given on the command line or
// through its environment variable env.
func (f *runtimeFlags) explicit(name, env string) bool {
	if os.Getenv(env) != "" {
		return true
	}
	set := false
	if f.fs != nil {
		f.fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	}
	return set
}

// worker returns the worker options these flags choose.
func (f *runtimeFlags) worker(lab system.LabMode) *system.WorkerOptions {
	return &system.WorkerOptions{Connections: f.Config, Policy: f.Policy, StickyCache: f.StickyCache, Lab: lab}
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

// encryptionFlags choose the payload encryption keys of worker and serve.
type encryptionFlags struct {
	Disabled bool
	// Compression compresses payloads before encrypting them; off until
	// every process of a deployment reads compressed payloads.
	Compression bool
	envErr      error
	// disabledErr is a RIPOSTE_NO_ENCRYPTION that is not a boolean.
	disabledErr error
}

func (f *encryptionFlags) register(fs *flag.FlagSet) {
	off, offErr := config.EnvBool("RIPOSTE_NO_ENCRYPTION")
	f.disabledErr = offErr
	fs.BoolVar(&f.Disabled, "no-encryption", off,
		"store payloads in clear text in Temporal (env RIPOSTE_NO_ENCRYPTION=true); by default RIPOSTE_CODEC_KEY_FILE or RIPOSTE_CODEC_KEYS is required")
	compress, err := config.EnvBool("RIPOSTE_PAYLOAD_COMPRESSION")
	f.envErr = err
	fs.BoolVar(&f.Compression, "payload-compression", compress,
		"compress payloads before encrypting them: a quarter less history per run (env RIPOSTE_PAYLOAD_COMPRESSION=true); turn it on once every worker and serve runs a release of 2026-12-05 or later, since earlier ones cannot read compressed payloads (every release since reads both)")
}

// keys returns the payload encryption keys (nil with --no-encryption).
func (f *encryptionFlags) keys() (*codec.Keyring, error) {
	if err := errors.Join(f.disabledErr, f.envErr); err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	if f.Disabled {
		return nil, nil
	}
	k, err := codec.KeyringFromEnv()
	if errors.Is(err, codec.ErrNoKeyring) {
		return nil, &exitError{code: 2, err: fmt.Errorf("payload encryption is on by default: set %s (a key file) or %s, or pass --no-encryption", codec.EnvKeyFile, codec.EnvKeys)}
	}
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return k, nil
}

// decisionKeys returns the keys that seal and verify human decisions from
// RIPOSTE_DECISION_KEY_FILE / RIPOSTE_DECISION_KEYS; nil when neither is
// set (the system derives them from the payload encryption keys, and
// refuses to start without either).
func decisionKeys() (*signing.Keys, error) {
	k, ok, err := signing.FromEnv()
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	if !ok {
		return nil, nil
	}
	return k, nil
}

// oidcFromEnv builds the OIDC bearer-token verifier from RIPOSTE_OIDC_*;
// nil when no RIPOSTE_OIDC_* variable is set. A partial or broken configuration
// refuses to start (exit 2) rather than silently running without it.
func oidcFromEnv(ctx context.Context) (auth.Verifier, error) {
	o, ok := auth.OIDCOptionsFromEnv()
	if !ok {
		return nil, nil
	}
	v, err := auth.NewOIDCVerifier(ctx, o)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return v, nil
}
