package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/test/harness"
)

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
	Proc         *harness.Process
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
// skips the test when no PostgreSQL binaries are installed (fails under CI).
func StartPostgres(t testing.TB, dir string) *Postgres {
	t.Helper()
	bin, err := PostgresBinDir()
	harness.Require(t, err)
	cred, err := osUser()
	if err != nil {
		t.Fatal(err)
	}
	pg := &Postgres{BinDir: bin, Dir: filepath.Join(dir, "postgresql"), Port: harness.FreePort(t), User: "temporal", Password: harness.RandomHex(16)}
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
	initdb.Env = harness.BaseEnv()
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if o, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, o)
	}
	// fsync off: a test database need not survive a power cut, and
	// durability is PostgreSQL's job, not what these tests check.
	pg.Proc = &harness.Process{
		Name: "postgresql", Path: filepath.Join(bin, "postgres"), Dir: pg.Dir, Cred: cred, Env: harness.BaseEnv(),
		Args: []string{"-D", data, "-p", strconv.Itoa(pg.Port), "-k", pg.Dir, "-c", "listen_addresses=127.0.0.1",
			"-c", "max_connections=300", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "shared_buffers=128MB"},
	}
	pg.Proc.Log = logFile(filepath.Join(dir, "postgresql.log"))
	if err := pg.Proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Proc.Stop(10 * time.Second) })
	harness.WaitFor(t, time.Minute, "PostgreSQL to accept connections", func() bool {
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
	cmd.Env = append(harness.BaseEnv(), "PGPASSWORD="+pg.Password)
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
	cmd := exec.Command("sh", filepath.Join(harness.RepoRoot(), "deploy", "temporal", "setup-postgres.sh"))
	cmd.Env = append(harness.BaseEnv(toolDir),
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
