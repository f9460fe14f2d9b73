// Package config holds Riposte's configuration: how to reach Temporal, the
// API token, vendor connections (connections.go) and the detection settings
// (detections.go). Flags default to env vars so the same binary works from a
// shell, a container or CI.
package config

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/riposte-dev/riposte/internal/safefile"
)

// Temporal says how to reach a Temporal cluster (self-hosted or Cloud).
type Temporal struct {
	Address       string
	Namespace     string
	TaskQueue     string
	TLSCert       string // client certificate file (mTLS)
	TLSKey        string // client key file (mTLS)
	TLSCA         string // CA bundle to verify the server; "" = system roots
	TLSServerName string
	TLS           bool   // TLS without a client cert (API key auth)
	APIKey        string // Temporal Cloud API key

	// envErr is a bad value of an environment variable behind a flag,
	// reported by Validate.
	envErr error
	// tlsEnvSet: TEMPORAL_TLS was set (to a boolean) when the flags were
	// registered on fs; with --tls given on fs, TLS was chosen explicitly.
	tlsEnvSet bool
	fs        *flag.FlagSet
}

// RegisterFlags adds the connection flags, defaulting to env vars.
func (t *Temporal) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&t.Address, "temporal-address", Env("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	fs.StringVar(&t.Namespace, "namespace", Env("TEMPORAL_NAMESPACE", "default"), "Temporal namespace (env TEMPORAL_NAMESPACE)")
	fs.StringVar(&t.TaskQueue, "task-queue", Env("RIPOSTE_TASK_QUEUE", "riposte"), "task queue of the Riposte workers (env RIPOSTE_TASK_QUEUE)")
	fs.StringVar(&t.TLSCert, "tls-cert", envPath("TEMPORAL_TLS_CERT"), "mTLS client certificate file (env TEMPORAL_TLS_CERT)")
	fs.StringVar(&t.TLSKey, "tls-key", envPath("TEMPORAL_TLS_KEY"), "mTLS client key file (env TEMPORAL_TLS_KEY)")
	fs.StringVar(&t.TLSCA, "tls-ca", envPath("TEMPORAL_TLS_CA"), "CA certificate file to verify the server (env TEMPORAL_TLS_CA)")
	fs.StringVar(&t.TLSServerName, "tls-server-name", Env("TEMPORAL_TLS_SERVER_NAME", ""), "server name to verify; implies TLS (env TEMPORAL_TLS_SERVER_NAME)")
	tlsDef, err := EnvBool("TEMPORAL_TLS")
	t.envErr = err
	t.tlsEnvSet, t.fs = strings.TrimSpace(os.Getenv("TEMPORAL_TLS")) != "", fs
	fs.BoolVar(&t.TLS, "tls", tlsDef, "use TLS even without a client certificate (env TEMPORAL_TLS=true)")
	t.APIKey = Env("TEMPORAL_API_KEY", "")
	fs.Var(secretFlag{&t.APIKey}, "api-key", "Temporal Cloud API `key` (env TEMPORAL_API_KEY; prefer the env var: a flag shows in the process list)")
}

// secretFlag is a string flag whose value is never printed: usage (on
// --help and on every mistyped flag, to stderr and so to the logs) shows
// no default, whatever the environment set it to.
type secretFlag struct{ p *string }

func (f secretFlag) String() string { return "" }

func (f secretFlag) Set(v string) error { *f.p = v; return nil }

// Env returns the environment variable name, or def when it is unset or
// empty.
func Env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// envPath reads an environment variable naming a file, without the
// whitespace around it: a path set from a Kubernetes Secret or ConfigMap
// key often ends with a newline, and no file is meant to.
func envPath(name string) string { return strings.TrimSpace(os.Getenv(name)) }

// EnvBool reads a boolean environment variable with strconv.ParseBool's
// spellings (1, t, true, TRUE, 0, f, false, …); unset or empty is false,
// any other value an error naming the variable.
func EnvBool(name string) (bool, error) {
	s := strings.TrimSpace(os.Getenv(name))
	if s == "" {
		return false, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%s=%q: not a boolean (true or false, 1 or 0)", name, s)
	}
	return v, nil
}

// Validate reports configuration mistakes before dialing.
func (t *Temporal) Validate() error {
	var errs []error
	if t.envErr != nil {
		errs = append(errs, t.envErr)
	}
	if t.Address == "" {
		errs = append(errs, errors.New("--temporal-address is empty"))
	}
	if t.Namespace == "" {
		errs = append(errs, errors.New("--namespace is empty"))
	}
	if k := t.apiKey(); k != "" && strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		// Not echoed: it is a credential.
		errs = append(errs, errors.New("--api-key (TEMPORAL_API_KEY) has a space or a control character inside it: not a Temporal API key (copy the key again, as one line)"))
	} else if k == "" && t.APIKey != "" {
		errs = append(errs, errors.New("--api-key (TEMPORAL_API_KEY) is blank"))
	}
	if (t.TLSCert == "") != (t.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together: set both or neither"))
	}
	// TLS turned off on purpose while another setting needs it: refused
	// rather than one of the two ignored (an API key is never sent in
	// plain text).
	if !t.TLS && t.tlsChosen() {
		var needs []string
		for _, s := range []struct {
			set  bool
			name string
		}{
			{t.APIKey != "", "--api-key (TEMPORAL_API_KEY)"},
			{t.TLSCert != "", "--tls-cert (TEMPORAL_TLS_CERT)"},
			{t.TLSCA != "", "--tls-ca (TEMPORAL_TLS_CA)"},
			{t.TLSServerName != "", "--tls-server-name (TEMPORAL_TLS_SERVER_NAME)"},
		} {
			if s.set {
				needs = append(needs, s.name)
			}
		}
		if len(needs) > 0 {
			errs = append(errs, fmt.Errorf("TLS is turned off (--tls=false or TEMPORAL_TLS=false) but %s needs it: remove one or the other", strings.Join(needs, " and ")))
		}
	}
	return errors.Join(errs...)
}

// apiKey is the API key without the whitespace around it: a key read from
// a file or a Kubernetes Secret often ends with a newline, which gRPC
// refuses in a header.
func (t *Temporal) apiKey() string { return strings.TrimSpace(t.APIKey) }

// tlsChosen reports whether --tls or TEMPORAL_TLS was given.
func (t *Temporal) tlsChosen() bool {
	set := t.tlsEnvSet
	if t.fs != nil {
		t.fs.Visit(func(f *flag.Flag) { set = set || f.Name == "tls" })
	}
	return set
}

// tlsConfig builds the TLS config, or nil for plaintext.
func (t *Temporal) tlsConfig() (*tls.Config, error) {
	// Any TLS setting turns TLS on, as in Temporal's own clients: a
	// server name to verify is never dialled in plain text.
	if t.TLSCert == "" && t.TLSCA == "" && t.TLSServerName == "" && !t.TLS && t.APIKey == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.TLSServerName}
	if t.TLSCert != "" {
		cert, err := loadKeyPair(t.TLSCert, t.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("loading client certificate %s: %w", t.TLSCert, err)
		}
		// Read again at every handshake: client certificates are
		// short-lived and renewed in place (cert-manager, Vault agent, a
		// Secret volume), and a reconnect must present the renewed one,
		// not the one of the process start, expired by then.
		cc := &clientCert{certFile: t.TLSCert, keyFile: t.TLSKey, last: &cert}
		cfg.GetClientCertificate = cc.get
	}
	if t.TLSCA != "" {
		pool, err := readCAFile(t.TLSCA)
		if err != nil {
			return nil, err
		}
		host := t.TLSServerName
		if host == "" {
			host = t.Address
			if h, _, err := net.SplitHostPort(t.Address); err == nil {
				host = h
			}
		}
		ca := &serverCA{file: t.TLSCA, host: host, last: pool}
		// Go's verifier reads RootCAs from the config, which gRPC keeps for
		// the connection's life; a CA rotated in place (cert-manager, a
		// Secret volume) would be refused until the process restarted. So
		// the chain and the name are verified here, against the file as
		// it is at each handshake; nothing is skipped.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = ca.verify
	}
	return cfg, nil
}

// loadKeyPair is tls.LoadX509KeyPair with the key read as a secret file:
// a client key every user of the machine may read (mode o+r) is refused,
// as the codec key file is (deploy/README.md, Secret files).
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := safefile.ReadSecret(keyFile, safefile.MaxSize)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// readCAFile reads a PEM CA bundle.
func readCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// serverCA verifies the Temporal server's certificate against the CA file
// read at every handshake. While the file holds no certificate (a rotation
// half-way), the last bundle read is used.
type serverCA struct {
	file string
	// host is the name to verify when the handshake sent none (an IP
	// address is not sent as SNI): --tls-server-name, else the address's.
	host string

	mu   sync.Mutex
	last *x509.CertPool
}

func (c *serverCA) roots() *x509.CertPool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pool, err := readCAFile(c.file); err == nil {
		c.last = pool
	}
	return c.last
}

// verify implements tls.Config.VerifyConnection as Go's own client
// verification does: the chain to a root of the bundle, for server
// authentication, and the server name.
func (c *serverCA) verify(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the Temporal server presented no certificate")
	}
	name := cs.ServerName
	if name == "" {
		name = c.host
	}
	opts := x509.VerifyOptions{Roots: c.roots(), DNSName: name, Intermediates: x509.NewCertPool()}
	for _, ic := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(ic)
	}
	if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
		return fmt.Errorf("the Temporal server's certificate does not verify against %s: %w", c.file, err)
	}
	return nil
}

// clientCert is the mTLS client pair, read from its files at every TLS
// handshake (gRPC connections are long-lived: handshakes are rare).
type clientCert struct {
	certFile, keyFile string

	mu   sync.Mutex
	last *tls.Certificate
}

// get implements tls.Config.GetClientCertificate. While the files do not
// make a pair (a renewal half-way: the certificate replaced, the key not
// yet), the last pair read is presented.
func (c *clientCert) get(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cert, err := loadKeyPair(c.certFile, c.keyFile); err == nil {
		c.last = &cert
	}
	return c.last, nil
}

// ClientOptions returns SDK client options for the connection.
func (t *Temporal) ClientOptions(logger *slog.Logger) (client.Options, error) {
	if err := t.Validate(); err != nil {
		return client.Options{}, err
	}
	tlsCfg, err := t.tlsConfig()
	if err != nil {
		return client.Options{}, err
	}
	opts := client.Options{
		HostPort:  t.Address,
		Namespace: t.Namespace,
		ConnectionOptions: client.ConnectionOptions{
			TLS: tlsCfg,
		},
	}
	if logger != nil {
		opts.Logger = log.NewStructuredLogger(logger)
	}
	if t.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(t.apiKey())
	}
	return opts, nil
}

// Dial connects to Temporal and checks the connection.
func (t *Temporal) Dial(ctx context.Context, logger *slog.Logger, extra func(*client.Options)) (client.Client, error) {
	opts, err := t.ClientOptions(logger)
	if err != nil {
		return nil, err
	}
	if extra != nil {
		extra(&opts)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connecting to Temporal at %s (namespace %s): %w", t.Address, t.Namespace, err)
	}
	return c, nil
}
