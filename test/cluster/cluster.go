// Package cluster runs Riposte's production topology as local processes,
// for tests: PostgreSQL 15 in a temporary directory (as a non-root user),
// Temporal's schemas applied by the shipped deploy/temporal/setup-postgres.sh,
// the Temporal server built from the go.temporal.io/server version in
// go.mod with deploy/temporal/dynamicconfig.yaml, the namespace and search
// attributes prepared by deploy/temporal/create-namespace.sh (riposte
// setup), then `riposte serve` and N `riposte worker` processes with the
// environment of docker-compose.yml's riposte services. Vendor calls go to
// the lab (internal/lab), in the test process, which records every change.
//
// Start is the one entry point:
//
//	c := cluster.Start(t, cluster.Options{})   // skips without PostgreSQL
//	code, body := c.API(t, "POST", "/v1/detections", detectionJSON)
//	c.Workers[0].Kill()                       // SIGKILL, then .Start() again
//	c.Temporal.Restart(t)
//
// The Temporal server and its schema tool are built once per machine into
// a versioned cache directory (RIPOSTE_CLUSTER_CACHE, default
// $XDG_CACHE_HOME/riposte-cluster/temporal-<version>-<go>-<os>-<arch>);
// the riposte binary once per test process. Nothing is downloaded at run
// time: the build uses the module cache (go mod download).
package cluster

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/test/harness"
)

// Options configure Start.
type Options struct {
	// Workers is the number of riposte worker processes (default 2).
	Workers int
	// Namespace (default "riposte", as in docker-compose.yml).
	Namespace string
	// Playbooks is a playbook directory (default: the shipped playbooks/).
	Playbooks string
	// Policy is the content of policy.yaml (default: the shipped
	// deploy/config/policy.yaml).
	Policy string
	// WorkerEnv and ServeEnv are added to the compose environment
	// (NAME=value; later entries win).
	WorkerEnv, ServeEnv []string
	// SkipRiposte starts PostgreSQL, Temporal and the namespace only.
	SkipRiposte bool
}

// Cluster is the whole topology.
type Cluster struct {
	Dir       string
	Postgres  *Postgres
	Temporal  *Temporal
	Lab       *lab.Lab
	Serve     *harness.Process
	Workers   []*harness.Process
	Binaries  TemporalBinaries
	Riposte   string // the riposte binary
	Namespace string
	TaskQueue string
	APIURL    string
	Token     string
	// WorkerMetrics are the worker processes' metrics/health base URLs.
	WorkerMetrics []string
	SetupOutput   string
	SchemaOutput  string

	keysFile string
	logf     func(string, ...any)
	tokMu    sync.Mutex
	personal map[string]string
}

// Start brings the whole topology up (see the package documentation) and
// tears it down when the test ends. It skips the test when PostgreSQL is
// not installed (fails under CI). The cluster's files and logs are in c.Dir (kept when
// RIPOSTE_CLUSTER_KEEP=1).
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	_, err := PostgresBinDir()
	harness.Require(t, err)
	if o.Workers == 0 {
		o.Workers = 2
	}
	if o.Namespace == "" {
		o.Namespace = "riposte"
	}
	if o.Playbooks == "" {
		o.Playbooks = filepath.Join(harness.RepoRoot(), "playbooks")
	}
	if o.Policy == "" {
		b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "deploy", "config", "policy.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		o.Policy = string(b)
	}
	dir, err := os.MkdirTemp("", "riposte-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if os.Getenv("RIPOSTE_CLUSTER_KEEP") == "1" || (t.Failed() && os.Getenv("CI") != "") {
			t.Logf("cluster files and logs kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	c := &Cluster{Dir: dir, Namespace: o.Namespace, TaskQueue: "riposte", logf: t.Logf}

	c.Binaries, err = BuildTemporal(t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if !o.SkipRiposte {
		if c.Riposte, err = harness.RiposteBinary(); err != nil {
			t.Fatal(err)
		}
	}
	c.Postgres = StartPostgres(t, dir)
	t.Logf("PostgreSQL: %s (%s)", c.Postgres.Version, c.Postgres.BinDir)
	if c.SchemaOutput, err = c.Postgres.ApplySchemas(c.Binaries); err != nil {
		t.Fatal(err)
	}
	c.Temporal = StartTemporal(t, dir, c.Binaries, c.Postgres)
	t.Logf("Temporal server: %s (go.temporal.io/server %s) at %s", c.ServerVersion(t), c.Binaries.Version, c.Temporal.Address)
	if o.SkipRiposte {
		return c
	}
	if c.SetupOutput, err = c.RunSetupScript(); err != nil {
		t.Fatal(err)
	}

	// Files where docker-compose.yml mounts them, under c.Dir.
	secrets := filepath.Join(dir, "run", "secrets")
	conf := filepath.Join(dir, "etc", "riposte", "config")
	for _, d := range []string{secrets, conf} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	c.Lab, err = lab.Start(lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Lab.Close() })
	c.Token = "rpt_" + harness.RandomHex(24)
	keyID := "cluster-" + harness.RandomHex(4)
	keyJSON, _ := json.Marshal(map[string]any{"active": keyID, "keys": map[string]string{keyID: base64.StdEncoding.EncodeToString([]byte(harness.RandomHex(16)))}})
	// Each lab secret is a {file: …} reference to a file under secrets.
	labSecrets := map[string]string{}
	connYAML := harness.LabConnections(t, c.Lab, func(name, value string) map[string]string {
		file := "lab_" + strings.ToLower(name)
		labSecrets[file] = value
		return map[string]string{"file": filepath.Join(secrets, file)}
	})
	c.keysFile = filepath.Join(secrets, "riposte_codec_keys")
	// The secret-file convention of deploy/README.md: owned by the user
	// Riposte runs as, mode 0400.
	for name, data := range map[string][]byte{
		"riposte_api_token":  []byte(c.Token + "\n"),
		"riposte_codec_keys": keyJSON,
	} {
		if err := os.WriteFile(filepath.Join(secrets, name), data, 0o400); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range labSecrets {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(data+"\n"), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(conf, "riposte.yaml"), connYAML, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "policy.yaml"), []byte(o.Policy), 0o644); err != nil {
		t.Fatal(err)
	}
	rewrite := func(env map[string]string, extra []string) []string {
		out := harness.BaseEnv()
		for _, k := range harness.SortedKeys(env) {
			v := env[k]
			switch {
			case k == "TEMPORAL_ADDRESS":
				v = c.Temporal.Address
			case k == "TEMPORAL_NAMESPACE":
				v = c.Namespace
			case k == "RIPOSTE_PLAYBOOKS":
				v = o.Playbooks
			case isMounted(v):
				v = hostPath(dir, v)
			case strings.HasPrefix(v, "0.0.0.0:"):
				v = fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
			}
			if v == "" {
				continue
			}
			out = append(out, k+"="+v)
		}
		return append(out, extra...)
	}
	wenv, err := ComposeEnv("riposte-worker")
	if err != nil {
		t.Fatal(err)
	}
	senv, err := ComposeEnv("riposte-serve")
	if err != nil {
		t.Fatal(err)
	}
	c.TaskQueue = wenv["RIPOSTE_TASK_QUEUE"]
	for i := 0; i < o.Workers; i++ {
		env := rewrite(wenv, o.WorkerEnv)
		p := &harness.Process{Name: fmt.Sprintf("worker-%d", i+1), Path: c.Riposte, Args: []string{"worker"}, Dir: dir, Env: env}
		p.Log = logFile(filepath.Join(dir, p.Name+".log"))
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "RIPOSTE_METRICS_ADDR="); ok {
				c.WorkerMetrics = append(c.WorkerMetrics, "http://"+v)
			}
		}
		c.Workers = append(c.Workers, p)
		t.Cleanup(func() { p.Stop(10 * time.Second) })
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	// Personal tokens (TokenFor) live in the cluster's tokens file; serve
	// reads it for decisions taken with a person's own token.
	senvList := rewrite(senv, append([]string{"RIPOSTE_TOKENS_FILE=" + filepath.Join(dir, "tokens.json")}, o.ServeEnv...))
	for _, kv := range senvList {
		if v, ok := strings.CutPrefix(kv, "RIPOSTE_HTTP="); ok {
			c.APIURL = "http://" + v
		}
	}
	c.Serve = &harness.Process{Name: "serve", Path: c.Riposte, Args: []string{"serve"}, Dir: dir, Env: senvList}
	c.Serve.Log = logFile(filepath.Join(dir, "serve.log"))
	t.Cleanup(func() { c.Serve.Stop(10 * time.Second) })
	if err := c.Serve.Start(); err != nil {
		t.Fatal(err)
	}
	for _, w := range c.Workers {
		c.WaitWorker(t, w, 0)
	}
	c.WaitServe(t)
	return c
}

// WaitWorker waits until the worker (started at output offset from) polls.
func (c *Cluster) WaitWorker(t testing.TB, w *harness.Process, from int) {
	t.Helper()
	w.WaitOutput(t, 2*time.Minute, from, "Riposte worker polling "+c.TaskQueue)
}

// WaitServe waits until serve answers /healthz.
func (c *Cluster) WaitServe(t testing.TB) {
	t.Helper()
	harness.WaitFor(t, 2*time.Minute, "serve to answer /healthz", func() bool {
		if !c.Serve.Running() {
			t.Fatalf("serve exited:\n%s", c.Serve.Tail(40))
		}
		resp, err := http.Get(c.APIURL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// RestartWorker stops worker i (SIGTERM, the way a rolling update does)
// or kills it (SIGKILL), starts it again and waits until it polls.
func (c *Cluster) RestartWorker(t testing.TB, i int, kill bool) {
	t.Helper()
	w := c.Workers[i]
	if kill {
		w.Kill()
	} else {
		w.Stop(30 * time.Second)
	}
	from := w.OutputLen()
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	c.WaitWorker(t, w, from)
}

// RunSetupScript runs the shipped deploy/temporal/create-namespace.sh
// (which runs riposte setup) against the cluster.
func (c *Cluster) RunSetupScript() (string, error) {
	cmd := exec.Command("sh", filepath.Join(harness.RepoRoot(), "deploy", "temporal", "create-namespace.sh"))
	cmd.Env = append(harness.BaseEnv(filepath.Dir(c.Riposte)),
		"TEMPORAL_ADDRESS="+c.Temporal.Address,
		"TEMPORAL_NAMESPACE="+c.Namespace,
		"NAMESPACE_RETENTION=168h",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("deploy/temporal/create-namespace.sh: %w\n%s", err, out)
	}
	return string(out), nil
}

// Env is the environment a riposte command needs to reach this cluster
// (doctor, bench, submit), with the compose worker's settings.
func (c *Cluster) Env() []string {
	return append(harness.BaseEnv(),
		"TEMPORAL_ADDRESS="+c.Temporal.Address,
		"TEMPORAL_NAMESPACE="+c.Namespace,
		"RIPOSTE_TASK_QUEUE="+c.TaskQueue,
		codec.EnvKeyFile+"="+c.keysFile,
		"RIPOSTE_CONFIG="+filepath.Join(c.Dir, "etc", "riposte", "config", "riposte.yaml"),
		"RIPOSTE_POLICY="+filepath.Join(c.Dir, "etc", "riposte", "config", "policy.yaml"),
		"RIPOSTE_API_URL="+c.APIURL,
		"RIPOSTE_API_TOKEN="+c.Token,
		// Personal tokens (decisions are taken with the decider's own).
		"RIPOSTE_TOKENS_FILE="+filepath.Join(c.Dir, "tokens.json"),
	)
}

// TokenFor returns a personal token (read, approve, operate) bound to user,
// created in the cluster's token file on first use.
func (c *Cluster) TokenFor(t testing.TB, user string) string {
	t.Helper()
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if tok, ok := c.personal[user]; ok {
		return tok
	}
	tok, _, err := auth.NewStore(filepath.Join(c.Dir, "tokens.json")).Create(user,
		[]string{auth.ScopeApprove, auth.ScopeOperate, auth.ScopeRead}, "cluster test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c.personal == nil {
		c.personal = map[string]string{}
	}
	c.personal[user] = tok
	return tok
}

// Client dials the cluster's namespace with the payload codec.
func (c *Cluster) Client(t testing.TB) client.Client {
	t.Helper()
	k, err := codec.LoadKeyring(c.keysFile)
	if err != nil {
		t.Fatal(err)
	}
	opts := client.Options{HostPort: c.Temporal.Address, Namespace: c.Namespace, Logger: harness.QuietLogger{}}
	codec.ConfigureClientOptions(&opts, k, codec.Options{})
	cl, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// ServerVersion asks the frontend for its version.
func (c *Cluster) ServerVersion(t testing.TB) string {
	t.Helper()
	cl, err := client.Dial(client.Options{HostPort: c.Temporal.Address, Namespace: "temporal-system", Logger: harness.QuietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	info, err := cl.WorkflowService().GetSystemInfo(context.Background(), &workflowservice.GetSystemInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return info.GetServerVersion()
}

// API calls serve with the API token and returns the status and body.
func (c *Cluster) API(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.APIURL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	tok := c.Token
	if m, ok := body.(map[string]string); ok && m["user"] != "" && method == http.MethodPost {
		// A decision is the deciding person's: use their own token.
		tok = c.TokenFor(t, m["user"])
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Logs is the tail of every process's output, for failure messages.
func (c *Cluster) Logs(lines int) string {
	var b strings.Builder
	procs := append([]*harness.Process{c.Serve}, c.Workers...)
	if c.Temporal != nil {
		procs = append(procs, c.Temporal.Proc)
	}
	for _, p := range procs {
		if p == nil {
			continue
		}
		fmt.Fprintf(&b, "---- %s\n%s\n", p.Name, p.Tail(lines))
	}
	return b.String()
}

// logFile creates a process's log file in the cluster directory (nil when
// it cannot: the output is still kept in memory).
func logFile(path string) io.Writer {
	f, err := os.Create(path)
	if err != nil {
		return nil
	}
	return f
}
