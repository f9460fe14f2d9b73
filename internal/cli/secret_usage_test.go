package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestUsageNeverPrintsSecretsFromEnv: a flag whose default comes from a
// secret environment variable must not print that value as its default.
// Usage goes to stderr on --help and on any mistyped flag, so a worker
// container started with a wrong argument wrote TEMPORAL_API_KEY into its
// log.
func TestUsageNeverPrintsSecretsFromEnv(t *testing.T) {
	const secret = "tmprl-api-key-S3cr3t"
	t.Setenv("TEMPORAL_API_KEY", secret)
	for _, name := range []string{"worker", "serve", "setup", "doctor"} {
		for _, args := range [][]string{{name, "--help"}, {name, "--no-such-flag"}} {
			var out, errb bytes.Buffer
			Main(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
			if strings.Contains(out.String()+errb.String(), secret) {
				t.Errorf("riposte %s prints TEMPORAL_API_KEY's value:\n%s", strings.Join(args, " "), grepLine(errb.String(), secret))
			}
		}
	}
	// The env var still sets the key.
	var tc = newTemporalForTest(t)
	if tc != secret {
		t.Errorf("--api-key from TEMPORAL_API_KEY = %q, want the env value", tc)
	}
}

func grepLine(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func newTemporalForTest(t *testing.T) string {
	t.Helper()
	var o clusterFlags
	fs := newFlagSet("x", "", Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	o.register(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	return o.Temporal.APIKey
}
