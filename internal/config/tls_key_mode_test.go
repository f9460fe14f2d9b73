package config

import (
	"flag"
	"os"
	"strings"
	"testing"
)

// TestTLSClientKeyReadableByEveryUserRefused: the mTLS client key is the
// deployment's credential to its Temporal namespace (Temporal Cloud: to
// cancel, terminate or reset every run). deploy/README.md ("Secret files")
// makes every secret file 0400, and the codec key file, decision key file
// and API token file are refused when every user may read them; the
// client key was read whatever its mode, without a word. It is refused the
// same way, naming the chmod; group-readable (Kubernetes' 0440 Secret
// volumes) is read.
func TestTLSClientKeyReadableByEveryUserRefused(t *testing.T) {
	for _, env := range []string{"TEMPORAL_TLS", "TEMPORAL_API_KEY", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_NAME"} {
		t.Setenv(env, "")
	}
	certFile, keyFile := writeSelfSigned(t, t.TempDir())
	for _, mode := range []os.FileMode{0o400, 0o440, 0o644, 0o604} {
		if err := os.Chmod(keyFile, mode); err != nil {
			t.Fatal(err)
		}
		var tp Temporal
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		tp.RegisterFlags(fs)
		if err := fs.Parse([]string{"--tls-cert", certFile, "--tls-key", keyFile}); err != nil {
			t.Fatal(err)
		}
		_, err := tp.ClientOptions(nil)
		refuse := mode&0o004 != 0
		switch {
		case refuse && (err == nil || !strings.Contains(err.Error(), "chmod")):
			t.Errorf("client key mode %04o: %v; want it refused naming the chmod", mode, err)
		case !refuse && err != nil:
			t.Errorf("client key mode %04o: %v", mode, err)
		}
	}
}
