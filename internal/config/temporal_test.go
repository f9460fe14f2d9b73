package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// TEMPORAL_TLS takes the usual boolean spellings (it used to count only
// "true": TEMPORAL_TLS=1 silently dialled without TLS) and refuses others.
func TestTemporalTLSEnv(t *testing.T) {
	for _, tc := range []struct {
		env  string
		tls  bool
		fail bool
	}{
		{"", false, false}, {"true", true, false}, {"1", true, false}, {"TRUE", true, false}, {"t", true, false},
		{"false", false, false}, {"0", false, false}, {"yes", false, true}, {"on", false, true},
	} {
		t.Setenv("TEMPORAL_TLS", tc.env)
		var tp Temporal
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		tp.RegisterFlags(fs)
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		err := tp.Validate()
		if tp.TLS != tc.tls || (err != nil) != tc.fail {
			t.Errorf("TEMPORAL_TLS=%q: TLS %v, Validate %v", tc.env, tp.TLS, err)
		}
		if tc.fail && !strings.Contains(err.Error(), `TEMPORAL_TLS="`+tc.env+`": not a boolean`) {
			t.Errorf("TEMPORAL_TLS=%q: %v", tc.env, err)
		}
	}
}

// The connection flags of worker, serve and setup (README, Production):
// an API key implies TLS and sends the key; mTLS loads the client pair and
// the CA; the server name is verified; half a pair or a CA file without a
// certificate is refused. Flags and their TEMPORAL_* variables alike.
func TestTemporalConnectionOptions(t *testing.T) {
	for _, env := range []string{"TEMPORAL_TLS", "TEMPORAL_API_KEY", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_NAME"} {
		t.Setenv(env, "")
	}
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	parse := func(env map[string]string, args ...string) (client.Options, error) {
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
		return tp.ClientOptions(nil)
	}

	o, err := parse(nil)
	if err != nil || o.ConnectionOptions.TLS != nil || o.Credentials != nil {
		t.Errorf("defaults: TLS %v, credentials %v, %v", o.ConnectionOptions.TLS, o.Credentials, err)
	}
	for name, env := range map[string]map[string]string{"--api-key": nil, "TEMPORAL_API_KEY": {"TEMPORAL_API_KEY": "key-1"}} {
		args := []string{"--api-key", "key-1"}
		if env != nil {
			args = nil
		}
		o, err := parse(env, args...)
		if err != nil || o.ConnectionOptions.TLS == nil || o.Credentials == nil {
			t.Errorf("%s: TLS %v, credentials %v, %v; want TLS implied and the key sent", name, o.ConnectionOptions.TLS, o.Credentials, err)
		}
	}
	o, err = parse(map[string]string{"TEMPORAL_TLS_CERT": certFile, "TEMPORAL_TLS_KEY": keyFile}, "--tls-ca", certFile, "--tls-server-name", "temporal.internal")
	if err != nil {
		t.Fatal(err)
	}
	if c := o.ConnectionOptions.TLS; c == nil || c.GetClientCertificate == nil || c.VerifyConnection == nil || c.ServerName != "temporal.internal" || c.MinVersion != tls.VersionTLS12 {
		t.Errorf("mTLS: %+v", c)
	}
	if _, err := parse(nil, "--tls-cert", certFile); err == nil || !strings.Contains(err.Error(), "--tls-cert and --tls-key go together") {
		t.Errorf("half a pair: %v", err)
	}
	if _, err := parse(nil, "--tls-ca", notPEM); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("CA file without a certificate: %v", err)
	}
}

// writeSelfSigned writes a self-signed ECDSA certificate and its key (PEM).
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "riposte-worker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
