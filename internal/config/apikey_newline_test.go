package config

import (
	"context"
	"crypto/tls"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// A Temporal Cloud API key is often handed to the process through a
// Kubernetes Secret or a file written by an editor, with a trailing
// newline (deploy/kubernetes/config.yaml: "add TEMPORAL_API_KEY … from a
// Secret"). Riposte sent it as it was: gRPC refused the header before any
// request ("header key \"authorization\" contains value with non-printable
// ASCII characters"), naming neither the setting nor the fix, and the
// worker exited. The key is trimmed, as Riposte's own token files are,
// and the server receives it; a key with a space or a control character
// inside is refused at start naming TEMPORAL_API_KEY, without echoing it.
func TestTemporalAPIKeyWithNewline(t *testing.T) {
	t.Setenv("TEMPORAL_TLS", "")
	dir := t.TempDir()
	certPEM, keyPEM := pemPair(t, 7, "temporal", time.Hour)
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	srv := grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&pair)),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			md, _ := metadata.FromIncomingContext(stream.Context())
			mu.Lock()
			got = append(got, md.Get("authorization")...)
			mu.Unlock()
			return status.Error(codes.Unavailable, "test server")
		}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	for _, key := range []string{"rpt-cloud-key\n", "rpt-cloud-key\r\n", "  rpt-cloud-key "} {
		t.Setenv("TEMPORAL_API_KEY", key)
		var tp Temporal
		tp.RegisterFlags(flag.NewFlagSet("x", flag.ContinueOnError))
		tp.Address, tp.Namespace, tp.TLSCA = ln.Addr().String(), "n", ca
		mu.Lock()
		got = nil
		mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := tp.Dial(ctx, nil, nil)
		cancel()
		mu.Lock()
		seen := append([]string(nil), got...)
		mu.Unlock()
		if len(seen) == 0 || seen[0] != "Bearer rpt-cloud-key" {
			t.Errorf("TEMPORAL_API_KEY=%q: the server received authorization %q (dial: %v); want \"Bearer rpt-cloud-key\"", key, seen, err)
		}
	}

	for _, key := range []string{"rpt-cloud key", "rpt-cloud\tkey", "rpt-cloud\nkey"} {
		t.Setenv("TEMPORAL_API_KEY", key)
		var tp Temporal
		tp.RegisterFlags(flag.NewFlagSet("x", flag.ContinueOnError))
		tp.Address, tp.Namespace = "127.0.0.1:1", "n"
		err := tp.Validate()
		if err == nil || !strings.Contains(err.Error(), "TEMPORAL_API_KEY") || strings.Contains(err.Error(), "rpt-cloud") {
			t.Errorf("TEMPORAL_API_KEY=%q: %v; want a refusal naming TEMPORAL_API_KEY that does not echo the key", key, err)
		}
	}
}

// README: a blank key is refused at start. A Secret holding only a
// newline (the key never written into it) or --api-key " " gave a
// Temporal connection sending "Bearer " and failing at the server with
// an authentication error naming no setting; it is refused by Validate
// naming --api-key (TEMPORAL_API_KEY) and "blank".
func TestTemporalAPIKeyBlankIsRefused(t *testing.T) {
	for _, key := range []string{"\n", " ", "\r\n", "\t \n"} {
		t.Setenv("TEMPORAL_API_KEY", key)
		var tp Temporal
		tp.RegisterFlags(flag.NewFlagSet("x", flag.ContinueOnError))
		tp.Address, tp.Namespace = "127.0.0.1:1", "n"
		err := tp.Validate()
		if err == nil || !strings.Contains(err.Error(), "TEMPORAL_API_KEY") || !strings.Contains(err.Error(), "blank") {
			t.Errorf("TEMPORAL_API_KEY=%q: %v; want a refusal naming TEMPORAL_API_KEY saying it is blank", key, err)
		}
	}
}
