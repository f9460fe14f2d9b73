// Package harness holds what Riposte's system tests share: the repository
// root and module versions, the riposte binary built once per test
// process, child processes whose output is kept (killed and started
// again), free ports, polling, clean child environments, payload keys and
// riposte.yaml for the vendor lab. test/e2e and test/cluster both use it.
package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
)

// RepoRoot is the repository's root directory (found from this file).
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("harness: no caller information")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

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

// GoCommand is the go binary of the toolchain running the tests.
func GoCommand() string {
	//lint:ignore SA1019 tests run where they were built, so the build's GOROOT is the toolchain running them
	g := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(g); err == nil {
		return g
	}
	return "go"
}

var (
	riposteOnce sync.Once
	riposteDir  string
	riposteBin  string
	riposteErr  error
)

// RiposteBinary builds ./cmd/riposte once per test process. Call
// RemoveBinaries from TestMain to delete it.
func RiposteBinary() (string, error) {
	riposteOnce.Do(func() {
		riposteDir, riposteErr = os.MkdirTemp("", "riposte-test-bin-")
		if riposteErr != nil {
			return
		}
		riposteBin = filepath.Join(riposteDir, "riposte")
		cmd := exec.Command(GoCommand(), "build", "-o", riposteBin, "./cmd/riposte")
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
