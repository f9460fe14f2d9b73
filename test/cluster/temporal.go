package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/test/harness"
)

// Temporal is a Temporal server process on PostgreSQL.
type Temporal struct {
	Bin           TemporalBinaries
	ConfigDir     string
	Address       string // frontend gRPC host:port
	MetricsURL    string // Prometheus metrics of the server
	DynamicConfig string
	Proc          *harness.Process
}

const serverConfig = `# Written by test/cluster: Temporal server on PostgreSQL, loopback only.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
      sql:
        pluginName: postgres12
        databaseName: temporal
        connectAddr: "127.0.0.1:{{.PG}}"
        connectProtocol: tcp
        user: "{{.User}}"
        password: "{{.Password}}"
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    postgres-visibility:
      sql:
        pluginName: postgres12
        databaseName: temporal_visibility
        connectAddr: "127.0.0.1:{{.PG}}"
        connectProtocol: tcp
        user: "{{.User}}"
        password: "{{.Password}}"
        maxConns: 10
        maxIdleConns: 10
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: "127.0.0.1:{{.Metrics}}"
services:
  frontend:
    rpc: {grpcPort: {{.Frontend}}, membershipPort: {{.FrontendM}}, bindOnLocalHost: true, httpPort: {{.FrontendHTTP}}}
  matching:
    rpc: {grpcPort: {{.Matching}}, membershipPort: {{.MatchingM}}, bindOnLocalHost: true}
  history:
    rpc: {grpcPort: {{.History}}, membershipPort: {{.HistoryM}}, bindOnLocalHost: true}
  worker:
    rpc: {grpcPort: {{.Worker}}, membershipPort: {{.WorkerM}}, bindOnLocalHost: true}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:{{.Frontend}}"
      httpAddress: "127.0.0.1:{{.FrontendHTTP}}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "{{.DynamicConfig}}"
  pollInterval: 10s
`

// StartTemporal writes the server's config (PostgreSQL, free ports,
// deploy/temporal/dynamicconfig.yaml) and starts it. A port taken by
// another process between the check and the bind gets new ports and
// another try.
func StartTemporal(t testing.TB, dir string, b TemporalBinaries, pg *Postgres) *Temporal {
	t.Helper()
	for attempt := 1; ; attempt++ {
		srv := configureTemporal(t, dir, b, pg)
		err := srv.tryStart(t)
		if err == nil {
			return srv
		}
		srv.Proc.Stop(20 * time.Second)
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
		t.Logf("attempt %d: %v; trying other ports", attempt, firstLine(err.Error()))
	}
}

// configureTemporal writes a server config on fresh ports.
func configureTemporal(t testing.TB, dir string, b TemporalBinaries, pg *Postgres) *Temporal {
	t.Helper()
	ports := map[string]int{"PG": pg.Port}
	for _, k := range []string{"Frontend", "FrontendM", "FrontendHTTP", "Matching", "MatchingM", "History", "HistoryM", "Worker", "WorkerM", "Metrics"} {
		ports[k] = harness.LowPort(t)
	}
	srv := &Temporal{
		Bin:           b,
		ConfigDir:     filepath.Join(dir, "temporal"),
		Address:       fmt.Sprintf("127.0.0.1:%d", ports["Frontend"]),
		MetricsURL:    fmt.Sprintf("http://127.0.0.1:%d/metrics", ports["Metrics"]),
		DynamicConfig: filepath.Join(harness.RepoRoot(), "deploy", "temporal", "dynamicconfig.yaml"),
	}
	cfg := serverConfig
	for k, v := range ports {
		cfg = strings.ReplaceAll(cfg, "{{."+k+"}}", strconv.Itoa(v))
	}
	cfg = strings.NewReplacer("{{.User}}", pg.User, "{{.Password}}", pg.Password, "{{.DynamicConfig}}", srv.DynamicConfig).Replace(cfg)
	if err := os.MkdirAll(srv.ConfigDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(srv.ConfigDir, "riposte.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.Proc = &harness.Process{Name: "temporal-server", Path: b.Server, Dir: srv.ConfigDir, Env: harness.BaseEnv(),
		Args: []string{"--config-file", cfgFile, "--allow-no-auth", "start"}}
	srv.Proc.Log = logFile(filepath.Join(dir, "temporal-server.log"))
	t.Cleanup(func() { srv.Proc.Stop(20 * time.Second) })
	return srv
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func (s *Temporal) start(t testing.TB) {
	t.Helper()
	if err := s.tryStart(t); err != nil {
		t.Fatal(err)
	}
}

// tryStart starts the server and waits until its frontend answers; an
// error when it exits first, with the end of its output.
func (s *Temporal) tryStart(t testing.TB) error {
	t.Helper()
	if err := s.Proc.Start(); err != nil {
		return err
	}
	var exited error
	harness.WaitFor(t, 2*time.Minute, "the Temporal frontend to answer", func() bool {
		if !s.Proc.Running() {
			exited = fmt.Errorf("the Temporal server exited:\n%s", s.Proc.Tail(40))
			return true
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		c, err := client.DialContext(ctx, client.Options{HostPort: s.Address, Namespace: "temporal-system", Logger: harness.QuietLogger{}})
		if err != nil {
			return false
		}
		defer c.Close()
		_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err == nil
	})
	return exited
}

// Restart stops the server (SIGTERM, then SIGKILL after 20s) and starts it
// again on the same ports and database.
func (s *Temporal) Restart(t testing.TB) {
	t.Helper()
	s.Proc.Stop(20 * time.Second)
	s.start(t)
}
