package config

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY and TEMPORAL_TLS_CA name files; set
// from a Kubernetes Secret or ConfigMap key written with a trailing
// newline they named a file nobody has ("open /etc/temporal/tls.crt\n: no
// such file or directory"), in the worker, serve and doctor alike (one
// reading: RegisterFlags). They are read without the whitespace around
// them, as TEMPORAL_API_KEY is.
func TestTemporalTLSPathsFromEnvAreTrimmed(t *testing.T) {
	t.Setenv("TEMPORAL_TLS", "")
	t.Setenv("TEMPORAL_API_KEY", "")
	dir := t.TempDir()
	certPEM, keyPEM := pemPair(t, 9, "riposte-worker", time.Hour)
	cert, key, ca := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "ca.crt")
	for f, b := range map[string][]byte{cert: certPEM, key: keyPEM, ca: certPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, ws := range []string{"\n", "\r\n", " "} {
		t.Setenv("TEMPORAL_TLS_CERT", cert+ws)
		t.Setenv("TEMPORAL_TLS_KEY", key+ws)
		t.Setenv("TEMPORAL_TLS_CA", ws+ca+ws)
		var tp Temporal
		tp.RegisterFlags(flag.NewFlagSet("x", flag.ContinueOnError))
		if tp.TLSCert != cert || tp.TLSKey != key || tp.TLSCA != ca {
			t.Errorf("with %q around the paths: cert %q, key %q, CA %q", ws, tp.TLSCert, tp.TLSKey, tp.TLSCA)
		}
		if _, err := tp.tlsConfig(); err != nil {
			t.Errorf("with %q around the paths: %v", ws, err)
		}
	}
}
