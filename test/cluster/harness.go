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
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/lab"
)

// RepoRoot is the repository's root directory (found from this file).
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("cluster: no caller information")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// ---- binaries ---------------------------------------------------------

// ModuleVersion returns the version go.mod requires of a module, e.g.
// "v1.32.1" for go.temporal.io/server ("" when it is not required).
func ModuleVersion(path string) string {
	data, err := os.ReadFile(filepath.Join(RepoRoot(), "go.mod"))
	if err != nil {
		return ""
	}
	re := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(path) + `\s+(v\S+)`)
	if m := re.FindSubmatch(data); m != nil {
		return string(m[1])
	}
	return ""
}

// goCommand is the go binary of the toolchain running the tests.
func goCommand() string {
	g := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(g); err == nil {
		return g
	}
	return "go"
}

// TemporalBinaries are the Temporal server, its SQL schema tool and the
// PostgreSQL schema directory, of the server version in go.mod.
type TemporalBinaries struct {
	Version   string
	Server    string
	SQLTool   string
	SchemaDir string // .../schema/postgresql/v12
}

var (
	temporalOnce sync.Once
	temporalBins TemporalBinaries
	temporalErr  error
)

// CacheDir is where the Temporal binaries of this version are kept.
func CacheDir() (string, error) {
	v := ModuleVersion("go.temporal.io/server")
	if v == "" {
		return "", errors.New("cannot tell the go.temporal.io/server version from the build info")
	}
	base := os.Getenv("RIPOSTE_CLUSTER_CACHE")
	if base == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(uc, "riposte-cluster")
	}
	return filepath.Join(base, fmt.Sprintf("temporal-%s-%s-%s-%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)), nil
}

// BuildTemporal builds (once per machine: the result is cached) the
// Temporal server and schema tool of the go.temporal.io/server version in
// go.mod, and copies its PostgreSQL schemas beside them. Concurrent test
// processes wait on a file lock instead of building twice.
func BuildTemporal(logf func(string, ...any)) (TemporalBinaries, error) {
	temporalOnce.Do(func() { temporalBins, temporalErr = buildTemporal(logf) })
	return temporalBins, temporalErr
}

func buildTemporal(logf func(string, ...any)) (TemporalBinaries, error) {
	dir, err := CacheDir()
	if err != nil {
		return TemporalBinaries{}, err
	}
	b := TemporalBinaries{
		Version:   ModuleVersion("go.temporal.io/server"),
		Server:    filepath.Join(dir, "temporal-server"),
		SQLTool:   filepath.Join(dir, "temporal-sql-tool"),
		SchemaDir: filepath.Join(dir, "schema", "postgresql", "v12"),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return b, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return b, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return b, fmt.Errorf("locking %s: %w", dir, err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()

	root := RepoRoot()
	build := func(out, pkg string) error {
		if _, err := os.Stat(out); err == nil {
			return nil
		}
		logf("building %s (once per machine, cached in %s; minutes on 2 cores)", pkg, dir)
		start := time.Now()
		cmd := exec.Command(goCommand(), "build", "-o", out+".tmp", pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if o, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", pkg, err, o)
		}
		logf("built %s in %s", pkg, time.Since(start).Round(time.Second))
		return os.Rename(out+".tmp", out)
	}
	if err := build(b.Server, "go.temporal.io/server/cmd/server"); err != nil {
		return b, err
	}
	if err := build(b.SQLTool, "go.temporal.io/server/cmd/tools/sql"); err != nil {
		return b, err
	}
	if _, err := os.Stat(filepath.Join(b.SchemaDir, "temporal", "versioned")); err != nil {
		cmd := exec.Command(goCommand(), "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/server")
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			return b, fmt.Errorf("go list -m go.temporal.io/server: %w", err)
		}
		src := filepath.Join(strings.TrimSpace(string(out)), "schema", "postgresql", "v12")
		if err := copyTree(src, b.SchemaDir+".tmp"); err != nil {
			return b, err
		}
		if err := os.Rename(b.SchemaDir+".tmp", b.SchemaDir); err != nil {
			return b, err
		}
	}
	return b, nil
}

func copyTree(src, dst string) error {
	_ = os.RemoveAll(dst)
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

var (
	riposteOnce sync.Once
	riposteBin  string
	riposteErr  error
	riposteDir  string
)

// RiposteBinary builds ./cmd/riposte once per test process. Call
// RemoveBinaries from TestMain to delete it.
func RiposteBinary() (string, error) {
	riposteOnce.Do(func() {
		riposteDir, riposteErr = os.MkdirTemp("", "riposte-cluster-bin-")
		if riposteErr != nil {
			return
		}
		riposteBin = filepath.Join(riposteDir, "riposte")
		cmd := exec.Command(goCommand(), "build", "-o", riposteBin, "./cmd/riposte")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			riposteErr = fmt.Errorf("building riposte: %w\n%s", err, out)
		}
		_ = os.Chmod(riposteDir, 0o755)
	})
	return riposteBin, riposteErr
}

// RemoveBinaries deletes the riposte binary built by RiposteBinary.
func RemoveBinaries() {
	if riposteDir != "" {
		_ = os.RemoveAll(riposteDir)
	}
}

// ---- helpers ----------------------------------------------------------

// FreePort returns a loopback TCP port that is free now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// WaitFor polls cond every 200ms until it is true or d has passed.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// baseEnv is the environment of child processes: PATH, HOME and the temp
// dir only, so nothing of the caller's Riposte, Temporal or Slack settings
// leaks in.
func baseEnv(extraPath ...string) []string {
	path := os.Getenv("PATH")
	if len(extraPath) > 0 {
		path = strings.Join(extraPath, string(os.PathListSeparator)) + string(os.PathListSeparator) + path
	}
	env := []string{"PATH=" + path}
	for _, k := range []string{"HOME", "TMPDIR", "LANG"} {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// lowPort returns a loopback port below 32768 that is free now: Temporal
// stores membership ports in a PostgreSQL smallint, and the kernel's
// ephemeral ports (what FreePort gets) are above it.
func lowPort(t testing.TB) int {
	t.Helper()
	for i := 0; i < 1000; i++ {
		b := make([]byte, 2)
		_, _ = rand.Read(b)
		port := 20000 + int(b[0])<<8%12000 + int(b[1])
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port below 32768")
	return 0
}

// ---- processes --------------------------------------------------------

// Process is a child process whose output is kept (and written to a log
// file in the cluster directory). It can be killed and started again.
type Process struct {
	Name string
	Path string
	Args []string
	Env  []string
	Dir  string
	Cred *syscall.Credential // run as this user (nil: as the test)

	mu      sync.Mutex
	cmd     *exec.Cmd
	out     bytes.Buffer
	exited  chan struct{}
	exitErr error
	logFile *os.File
	starts  int
}

// Start starts the process (again, after a Kill or Stop).
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !p.isExited() {
		return fmt.Errorf("%s is running", p.Name)
	}
	p.starts++
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = p.Env
	cmd.Dir = p.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: p.Cred}
	w := io.Writer(&lockedWriter{p: p})
	if p.logFile != nil {
		fmt.Fprintf(p.logFile, "==== start #%d %s\n", p.starts, time.Now().Format(time.RFC3339Nano))
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	p.cmd = cmd
	exited := make(chan struct{})
	p.exited = exited
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

type lockedWriter struct{ p *Process }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	w.p.out.Write(b)
	if w.p.logFile != nil {
		_, _ = w.p.logFile.Write(b)
	}
	return len(b), nil
}

func (p *Process) isExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Running reports whether the process is alive.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !p.isExited()
}

// Output is everything the process printed, over all its starts.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Tail is the last n lines of Output.
func (p *Process) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Output(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 600 {
			lines[i] = l[:600] + "…"
		}
	}
	return strings.Join(lines, "\n")
}

// Kill sends SIGKILL (to the process group) and waits for the exit.
func (p *Process) Kill() {
	p.signal(syscall.SIGKILL, 0)
}

// Stop sends SIGTERM and waits up to grace, then SIGKILL.
func (p *Process) Stop(grace time.Duration) {
	p.signal(syscall.SIGTERM, grace)
}

func (p *Process) signal(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
	if sig != syscall.SIGKILL {
		select {
		case <-exited:
			return
		case <-time.After(grace):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	<-exited
}

// WaitOutput waits until the output (since the given offset) contains s.
func (p *Process) WaitOutput(t testing.TB, d time.Duration, from int, s string) {
	t.Helper()
	WaitFor(t, d, fmt.Sprintf("%s to print %q", p.Name, s), func() bool {
		out := p.Output()
		if from > len(out) {
			from = 0
		}
		if strings.Contains(out[from:], s) {
			return true
		}
		if !p.Running() {
			t.Fatalf("%s exited (%v) before printing %q:\n%s", p.Name, p.exitErr, s, p.Tail(40))
		}
		return false
	})
}

// OutputLen is the length of Output, for WaitOutput's from.
func (p *Process) OutputLen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Len()
}

// ---- PostgreSQL -------------------------------------------------------

// PostgresBinDir finds PostgreSQL's server binaries: RIPOSTE_PG_BIN,
// Debian's /usr/lib/postgresql/<newest>/bin, or initdb on PATH.
func PostgresBinDir() (string, error) {
	if d := os.Getenv("RIPOSTE_PG_BIN"); d != "" {
		return d, nil
	}
	if dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(dirs) > 0 {
		sort.Slice(dirs, func(i, j int) bool {
			vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
			vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
			return vi > vj
		})
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
				return d, nil
			}
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL server binaries (initdb): install Debian's postgresql-15 or set RIPOSTE_PG_BIN")
}

// Postgres is a PostgreSQL server in a temporary directory.
type Postgres struct {
	BinDir       string
	Dir          string
	Port         int
	User         string // the database superuser Temporal connects as
	Password     string
	PasswordFile string
	Version      string // postgres --version
	Proc         *Process
}

// osUser is the system user PostgreSQL runs as when the tests run as
// root (initdb refuses root): RIPOSTE_PG_OS_USER, else "nobody".
func osUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	name := os.Getenv("RIPOSTE_PG_OS_USER")
	if name == "" {
		name = "nobody"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs another user: %w (set RIPOSTE_PG_OS_USER)", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// StartPostgres initializes and starts PostgreSQL on a free loopback
// port, with password authentication for the "temporal" superuser. It
// skips the test when no PostgreSQL binaries are installed.
func StartPostgres(t testing.TB, dir string) *Postgres {
	t.Helper()
	bin, err := PostgresBinDir()
	if err != nil {
		t.Skip(err)
	}
	cred, err := osUser()
	if err != nil {
		t.Fatal(err)
	}
	pg := &Postgres{BinDir: bin, Dir: filepath.Join(dir, "postgresql"), Port: FreePort(t), User: "temporal", Password: randomHex(16)}
	if err := os.MkdirAll(pg.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	pg.PasswordFile = filepath.Join(dir, "secrets", "postgres_password")
	if err := os.MkdirAll(filepath.Dir(pg.PasswordFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pg.PasswordFile, []byte(pg.Password+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(pg.Dir, "pwfile")
	if err := os.WriteFile(pw, []byte(pg.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		// The directories above pg.Dir must let the user through: open the
		// cluster's own directory, and refuse (rather than change) a parent
		// that is closed, e.g. a TMPDIR under /root.
		if err := os.Chmod(dir, 0o711); err != nil {
			t.Fatal(err)
		}
		for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
			if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
				t.Fatalf("PostgreSQL runs as uid %d and cannot reach %s: %s is mode %04o; set TMPDIR to a directory others can traverse (e.g. /tmp)", cred.Uid, pg.Dir, d, fi.Mode().Perm())
			}
			if d == filepath.Dir(d) {
				break
			}
		}
		for _, p := range []string{pg.Dir, pw} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	out, err := exec.Command(filepath.Join(bin, "postgres"), "--version").Output()
	if err != nil {
		t.Fatalf("postgres --version: %v", err)
	}
	pg.Version = strings.TrimSpace(string(out))

	data := filepath.Join(pg.Dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", pg.User, "--pwfile", pw,
		"--auth-local", "scram-sha-256", "--auth-host", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-sync")
	initdb.Env = baseEnv()
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if o, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, o)
	}
	// fsync off: a test database need not survive a power cut, and
	// durability is PostgreSQL's job, not what these tests check.
	pg.Proc = &Process{
		Name: "postgresql", Path: filepath.Join(bin, "postgres"), Dir: pg.Dir, Cred: cred, Env: baseEnv(),
		Args: []string{"-D", data, "-p", strconv.Itoa(pg.Port), "-k", pg.Dir, "-c", "listen_addresses=127.0.0.1",
			"-c", "max_connections=300", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "shared_buffers=128MB"},
	}
	pg.Proc.logFile, _ = os.Create(filepath.Join(dir, "postgresql.log"))
	if err := pg.Proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Proc.Stop(10 * time.Second) })
	WaitFor(t, time.Minute, "PostgreSQL to accept connections", func() bool {
		if !pg.Proc.Running() {
			t.Fatalf("PostgreSQL exited:\n%s", pg.Proc.Tail(30))
		}
		return exec.Command(filepath.Join(bin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(pg.Port)).Run() == nil
	})
	return pg
}

// Psql runs one SQL statement as the superuser and returns its output
// (unaligned, tuples only).
func (pg *Postgres) Psql(db, sql string) (string, error) {
	cmd := exec.Command(filepath.Join(pg.BinDir, "psql"), "-h", "127.0.0.1", "-p", strconv.Itoa(pg.Port), "-U", pg.User,
		"-d", db, "-Atc", sql)
	cmd.Env = append(baseEnv(), "PGPASSWORD="+pg.Password)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// ApplySchemas runs the shipped deploy/temporal/setup-postgres.sh against
// this server, with the schema tool and schemas of b. Idempotent: it is
// what an upgrade re-runs.
func (pg *Postgres) ApplySchemas(b TemporalBinaries) (string, error) {
	toolDir, err := os.MkdirTemp("", "riposte-sqltool-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(toolDir)
	// The script calls temporal-sql-tool, as in the admin-tools image.
	if err := os.Symlink(b.SQLTool, filepath.Join(toolDir, "temporal-sql-tool")); err != nil {
		return "", err
	}
	cmd := exec.Command("sh", filepath.Join(RepoRoot(), "deploy", "temporal", "setup-postgres.sh"))
	cmd.Env = append(baseEnv(toolDir),
		"POSTGRES_SEEDS=127.0.0.1",
		"DB_PORT="+strconv.Itoa(pg.Port),
		"POSTGRES_USER="+pg.User,
		"POSTGRES_PWD_FILE="+pg.PasswordFile,
		"SCHEMA_DIR="+b.SchemaDir,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("deploy/temporal/setup-postgres.sh: %w\n%s", err, out)
	}
	return string(out), nil
}

// ---- Temporal server --------------------------------------------------

// Temporal is a Temporal server process on PostgreSQL.
type Temporal struct {
	Bin           TemporalBinaries
	ConfigDir     string
	Address       string // frontend gRPC host:port
	MetricsURL    string // Prometheus metrics of the server
	DynamicConfig string
	Proc          *Process
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
// deploy/temporal/dynamicconfig.yaml) and starts it.
func StartTemporal(t testing.TB, dir string, b TemporalBinaries, pg *Postgres) *Temporal {
	t.Helper()
	ports := map[string]int{"PG": pg.Port}
	for _, k := range []string{"Frontend", "FrontendM", "FrontendHTTP", "Matching", "MatchingM", "History", "HistoryM", "Worker", "WorkerM", "Metrics"} {
		ports[k] = lowPort(t)
	}
	srv := &Temporal{
		Bin:           b,
		ConfigDir:     filepath.Join(dir, "temporal"),
		Address:       fmt.Sprintf("127.0.0.1:%d", ports["Frontend"]),
		MetricsURL:    fmt.Sprintf("http://127.0.0.1:%d/metrics", ports["Metrics"]),
		DynamicConfig: filepath.Join(RepoRoot(), "deploy", "temporal", "dynamicconfig.yaml"),
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
	srv.Proc = &Process{Name: "temporal-server", Path: b.Server, Dir: srv.ConfigDir, Env: baseEnv(),
		Args: []string{"--config-file", cfgFile, "--allow-no-auth", "start"}}
	srv.Proc.logFile, _ = os.Create(filepath.Join(dir, "temporal-server.log"))
	t.Cleanup(func() { srv.Proc.Stop(20 * time.Second) })
	srv.start(t)
	return srv
}

func (s *Temporal) start(t testing.TB) {
	t.Helper()
	if err := s.Proc.Start(); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, 2*time.Minute, "the Temporal frontend to answer", func() bool {
		if !s.Proc.Running() {
			t.Fatalf("the Temporal server exited:\n%s", s.Proc.Tail(40))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		c, err := client.DialContext(ctx, client.Options{HostPort: s.Address, Namespace: "temporal-system", Logger: quietLogger{}})
		if err != nil {
			return false
		}
		defer c.Close()
		_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err == nil
	})
}

// Restart stops the server (SIGTERM, then SIGKILL after 20s) and starts it
// again on the same ports and database.
func (s *Temporal) Restart(t testing.TB) {
	t.Helper()
	s.Proc.Stop(20 * time.Second)
	s.start(t)
}

// ---- Riposte ----------------------------------------------------------

// ComposeEnv returns the environment docker-compose.yml gives a service
// (riposte-worker or riposte-serve), with ${VAR:-default} replaced by its
// default.
func ComposeEnv(service string) (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(RepoRoot(), "docker-compose.yml"))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Services map[string]struct {
			Environment map[string]any `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("docker-compose.yml: %w", err)
	}
	svc, ok := doc.Services[service]
	if !ok {
		return nil, fmt.Errorf("docker-compose.yml has no service %s", service)
	}
	out := map[string]string{}
	for k, v := range svc.Environment {
		if k == "<<" {
			continue
		}
		out[k] = interpolate(fmt.Sprint(v))
	}
	return out, nil
}

var composeVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}`)

func interpolate(s string) string {
	return composeVar.ReplaceAllStringFunc(s, func(m string) string {
		return composeVar.FindStringSubmatch(m)[2]
	})
}

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
	Serve     *Process
	Workers   []*Process
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
// not installed. The cluster's files and logs are in c.Dir (kept when
// RIPOSTE_CLUSTER_KEEP=1).
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	if _, err := PostgresBinDir(); err != nil {
		t.Skip(err)
	}
	if o.Workers == 0 {
		o.Workers = 2
	}
	if o.Namespace == "" {
		o.Namespace = "riposte"
	}
	if o.Playbooks == "" {
		o.Playbooks = filepath.Join(RepoRoot(), "playbooks")
	}
	if o.Policy == "" {
		b, err := os.ReadFile(filepath.Join(RepoRoot(), "deploy", "config", "policy.yaml"))
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
		if c.Riposte, err = RiposteBinary(); err != nil {
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
	c.Token = "rpt_" + randomHex(24)
	keyID := "cluster-" + randomHex(4)
	keyJSON, _ := json.Marshal(map[string]any{"active": keyID, "keys": map[string]string{keyID: base64.StdEncoding.EncodeToString([]byte(randomHex(16)))}})
	connYAML, labSecrets := labConnections(t, c.Lab, secrets)
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
		out := baseEnv()
		for _, k := range sortedKeys(env) {
			v := env[k]
			switch {
			case k == "TEMPORAL_ADDRESS":
				v = c.Temporal.Address
			case k == "TEMPORAL_NAMESPACE":
				v = c.Namespace
			case k == "RIPOSTE_PLAYBOOKS":
				v = o.Playbooks
			case strings.HasPrefix(v, "/run/") || strings.HasPrefix(v, "/etc/riposte/"):
				v = filepath.Join(dir, v)
			case strings.HasPrefix(v, "0.0.0.0:"):
				v = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
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
		p := &Process{Name: fmt.Sprintf("worker-%d", i+1), Path: c.Riposte, Args: []string{"worker"}, Dir: dir, Env: env}
		p.logFile, _ = os.Create(filepath.Join(dir, p.Name+".log"))
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
	c.Serve = &Process{Name: "serve", Path: c.Riposte, Args: []string{"serve"}, Dir: dir, Env: senvList}
	c.Serve.logFile, _ = os.Create(filepath.Join(dir, "serve.log"))
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
func (c *Cluster) WaitWorker(t testing.TB, w *Process, from int) {
	t.Helper()
	w.WaitOutput(t, 2*time.Minute, from, "Riposte worker polling "+c.TaskQueue)
}

// WaitServe waits until serve answers /healthz.
func (c *Cluster) WaitServe(t testing.TB) {
	t.Helper()
	WaitFor(t, 2*time.Minute, "serve to answer /healthz", func() bool {
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
	cmd := exec.Command("sh", filepath.Join(RepoRoot(), "deploy", "temporal", "create-namespace.sh"))
	cmd.Env = append(baseEnv(filepath.Dir(c.Riposte)),
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
	return append(baseEnv(),
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
	opts := client.Options{HostPort: c.Temporal.Address, Namespace: c.Namespace, Logger: quietLogger{}}
	codec.ConfigureClientOptions(&opts, k)
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
	cl, err := client.Dial(client.Options{HostPort: c.Temporal.Address, Namespace: "temporal-system", Logger: quietLogger{}})
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
	procs := append([]*Process{c.Serve}, c.Workers...)
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

// labConnections writes riposte.yaml connections pointing at the lab, each
// secret a {file: …} reference to a file under secrets (returned, to be
// written 0400).
func labConnections(t testing.TB, l *lab.Lab, secrets string) ([]byte, map[string]string) {
	t.Helper()
	conns := map[string]map[string]any{}
	files := map[string]string{}
	safe := regexp.MustCompile(`[^A-Za-z0-9]+`)
	for name, conn := range l.Connections() {
		m := map[string]any{"type": conn.Type}
		if conn.BaseURL != "" { // AWS takes per-service endpoints instead
			m["base_url"] = conn.BaseURL
		}
		for k, v := range conn.Options {
			m[k] = v
		}
		for k, ref := range conn.Secrets {
			if ref.Lab == "" {
				t.Fatalf("lab connection %s: secret %s is not a literal", name, k)
			}
			file := "lab_" + strings.ToLower(safe.ReplaceAllString(name+"_"+k, "_"))
			files[file] = ref.Lab
			m[k] = map[string]string{"file": filepath.Join(secrets, file)}
		}
		conns[name] = m
	}
	b, err := yaml.Marshal(map[string]any{"connections": conns})
	if err != nil {
		t.Fatal(err)
	}
	return b, files
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// quietLogger drops the SDK's logs.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

// JSONLogLines returns the process's JSON log lines (RIPOSTE_LOG_FORMAT=json)
// whose msg equals msg.
func JSONLogLines(p *Process, msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.Output()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var m map[string]any
		if json.Unmarshal(line, &m) == nil && (msg == "" || m["msg"] == msg) {
			out = append(out, m)
		}
	}
	return out
}
