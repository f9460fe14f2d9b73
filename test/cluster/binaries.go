package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/riposte-dev/riposte/test/harness"
)

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
	v := harness.ModuleVersion("go.temporal.io/server")
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
		Version:   harness.ModuleVersion("go.temporal.io/server"),
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

	root := harness.RepoRoot()
	build := func(out, pkg string) error {
		if _, err := os.Stat(out); err == nil {
			return nil
		}
		logf("building %s (once per machine, cached in %s; minutes on 2 cores)", pkg, dir)
		start := time.Now()
		cmd := exec.Command(harness.GoCommand(), "build", "-o", out+".tmp", pkg)
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
		cmd := exec.Command(harness.GoCommand(), "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/server")
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
