package config

import (
	"flag"
	"strings"
	"testing"
)

// TestTemporalTLSSettingsNotSilentlyIgnored: the TEMPORAL_TLS_* variables
// are Temporal's own names, and Temporal's clients (the temporal CLI, the
// SDKs' environment configuration) turn TLS on when any TLS setting is
// present, and off only when TEMPORAL_TLS=false. Riposte dialled in plain
// text with only --tls-server-name / TEMPORAL_TLS_SERVER_NAME set
// (ignoring the name the operator asked to verify), and dialled with TLS
// when TEMPORAL_TLS=false (or --tls=false) was set with an API key or a
// client certificate, ignoring the explicit false. Either the setting is
// honoured or the conflict is refused naming both; never ignored.
func TestTemporalTLSSettingsNotSilentlyIgnored(t *testing.T) {
	for _, env := range []string{"TEMPORAL_TLS", "TEMPORAL_API_KEY", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_NAME"} {
		t.Setenv(env, "")
	}
	parse := func(env map[string]string, args ...string) (*Temporal, error) {
		t.Helper()
		for k, v := range env {
			t.Setenv(k, v)
			defer t.Setenv(k, "")
		}
		var tp Temporal
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		tp.RegisterFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		_, err := tp.ClientOptions(nil)
		return &tp, err
	}

	// A server name to verify: TLS, verifying that name.
	for name, env := range map[string]map[string]string{"--tls-server-name": nil, "TEMPORAL_TLS_SERVER_NAME": {"TEMPORAL_TLS_SERVER_NAME": "temporal.internal"}} {
		var args []string
		if env == nil {
			args = []string{"--tls-server-name", "temporal.internal"}
		}
		tp, _ := parse(env, args...)
		o, err := tp.ClientOptions(nil)
		if err != nil || o.ConnectionOptions.TLS == nil || o.ConnectionOptions.TLS.ServerName != "temporal.internal" {
			t.Errorf("%s alone: TLS %+v, %v; want TLS verifying temporal.internal, not plain text", name, o.ConnectionOptions.TLS, err)
		}
	}

	// TLS explicitly off, with a setting that needs it: refused.
	for name, c := range map[string]struct {
		env  map[string]string
		args []string
	}{
		"TEMPORAL_TLS=false with TEMPORAL_API_KEY": {env: map[string]string{"TEMPORAL_TLS": "false", "TEMPORAL_API_KEY": "key-1"}},
		"--tls=false with --api-key":               {args: []string{"--tls=false", "--api-key", "key-1"}},
	} {
		_, err := parse(c.env, c.args...)
		if err == nil || !strings.Contains(err.Error(), "TLS") {
			t.Errorf("%s: %v; want the conflict refused", name, err)
		}
	}
}
