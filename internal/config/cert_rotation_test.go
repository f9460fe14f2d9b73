package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// pemPair returns a self-signed ECDSA certificate (serial, valid from an
// hour ago for the given time, for 127.0.0.1) and its key, PEM-encoded.
func pemPair(t *testing.T, serial int64, cn string, valid time.Duration) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(valid), IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// replaceFile writes b to dir/name as an agent or the kubelet replaces a
// file (a new file, renamed over the old one) and returns its path.
func replaceFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	tmp := p + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestClientCertificateRotation: mTLS client certificates are short-lived
// and renewed in place (cert-manager, Vault agent, a Kubernetes Secret
// volume: the files under TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY are replaced
// before the old certificate expires). The pair was read once, when the
// process started: every later connection (a reconnect after a network
// blip, a Temporal frontend restart) presented the certificate of the
// start, and once that one expired the worker could no longer connect
// until someone restarted it. A handshake after the files change must
// present the new certificate.
func TestClientCertificateRotation(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string { return replaceFile(t, dir, name, b) }
	srvCert, srvKey := pemPair(t, 100, "temporal", time.Hour)
	caFile := write("ca.pem", srvCert)
	pair, err := tls.X509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAnyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serials := make(chan int64, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			if err := tc.Handshake(); err == nil && len(tc.ConnectionState().PeerCertificates) > 0 {
				serials <- tc.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
			} else {
				serials <- -1
			}
			_ = c.Close()
		}
	}()

	c1, k1 := pemPair(t, 1, "riposte-worker", time.Hour)
	tp := Temporal{Address: ln.Addr().String(), Namespace: "n", TLSCert: write("client.pem", c1), TLSKey: write("client-key.pem", k1), TLSCA: caFile}
	opts, err := tp.ClientOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := opts.ConnectionOptions.TLS
	handshake := func() int64 {
		t.Helper()
		c, err := tls.Dial("tcp", ln.Addr().String(), cfg.Clone())
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		// TLS 1.3: the server reads the client certificate after the
		// client's handshake completes; wait for its answer.
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Read(make([]byte, 1))
		_ = c.Close()
		select {
		case s := <-serials:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("the server saw no handshake")
			return 0
		}
	}
	if s := handshake(); s != 1 {
		t.Fatalf("first connection presented certificate %d, want 1", s)
	}
	// The certificate is renewed in place.
	c2, k2 := pemPair(t, 2, "riposte-worker", 2*time.Hour)
	write("client.pem", c2)
	write("client-key.pem", k2)
	if s := handshake(); s != 2 {
		t.Errorf("after the certificate files were renewed, a new connection presented certificate %d, want 2 (the renewed one): the pair read at start is used until the process restarts, and stops working when it expires", s)
	}
}

// TestServerCARotation: the CA bundle under TEMPORAL_TLS_CA was read once,
// at start, into the connection's TLS config; when the cluster's CA was
// rotated in place (the bundle first gains the new CA, then the server
// presents a certificate of it), every reconnect failed until the worker
// was restarted. The bundle is now read at each handshake, and the server
// is verified as strictly as before: an unknown CA or another name fails.
func TestServerCARotation(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string { return replaceFile(t, dir, name, b) }
	pair := func(c, k []byte) *tls.Certificate {
		p, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return &p
	}
	old, oldKey := pemPair(t, 10, "temporal", time.Hour)
	rotated, rotatedKey := pemPair(t, 11, "temporal", 2*time.Hour)
	stranger, strangerKey := pemPair(t, 12, "temporal", time.Hour)
	var mu sync.Mutex
	serving := pair(old, oldKey)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		mu.Lock()
		defer mu.Unlock()
		return serving, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			_ = c.Close()
		}
	}()
	serve := func(c *tls.Certificate) {
		mu.Lock()
		serving = c
		mu.Unlock()
	}
	caFile := write("ca.pem", old)
	dial := func(tp Temporal) error {
		t.Helper()
		opts, err := tp.ClientOptions(nil)
		if err != nil {
			t.Fatal(err)
		}
		// As gRPC does: the config is built once, cloned per connection
		// with the authority's host as ServerName.
		cfg := opts.ConnectionOptions.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = "127.0.0.1"
		}
		c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	tp := Temporal{Address: ln.Addr().String(), Namespace: "n", TLSCA: caFile}
	opts, err := tp.ClientOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := opts.ConnectionOptions.TLS
	connect := func() error {
		c := cfg.Clone()
		c.ServerName = "127.0.0.1"
		conn, err := tls.Dial("tcp", ln.Addr().String(), c)
		if err == nil {
			_ = conn.Close()
		}
		return err
	}
	if err := connect(); err != nil {
		t.Fatalf("first connection: %v", err)
	}
	// Rotation: the bundle gains the new CA, then the server switches.
	write("ca.pem", append(append([]byte{}, old...), rotated...))
	serve(pair(rotated, rotatedKey))
	if err := connect(); err != nil {
		t.Errorf("after the CA bundle gained the rotated CA, a new connection failed (the bundle of the process start is used until a restart): %v", err)
	}
	// The old CA leaves the bundle; its certificate is no longer trusted.
	write("ca.pem", rotated)
	serve(pair(old, oldKey))
	if err := connect(); err == nil {
		t.Error("a certificate of a CA removed from the bundle was accepted")
	}
	// A CA never in the bundle is refused; so is another name.
	serve(pair(stranger, strangerKey))
	if err := connect(); err == nil {
		t.Error("a certificate of an unknown CA was accepted")
	}
	serve(pair(rotated, rotatedKey))
	if err := dial(Temporal{Address: ln.Addr().String(), Namespace: "n", TLSCA: caFile, TLSServerName: "temporal.other.example"}); err == nil {
		t.Error("a certificate for 127.0.0.1 was accepted for temporal.other.example")
	}
	if err := dial(Temporal{Address: ln.Addr().String(), Namespace: "n", TLSCA: caFile}); err != nil {
		t.Errorf("the rotated CA's certificate for 127.0.0.1: %v", err)
	}
	// A bundle being rewritten (empty for a moment) keeps the last one.
	write("ca.pem", nil)
	if err := connect(); err != nil {
		t.Errorf("while the bundle file was empty: %v", err)
	}
}
