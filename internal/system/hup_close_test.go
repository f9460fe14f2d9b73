package system

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/codec"
)

// TestSIGHUPNotWatchedAfterClose: the API's SIGHUP watcher (playbook
// reload) lived until the context given to Start ended, not until Close.
// serve returns when its API fails (sys.Done) with that context still
// live, and riposte dev, the benchmark and the end-to-end tests start and
// close systems one after another in one process: each closed system kept
// a goroutine and a signal.Notify, and every later SIGHUP reloaded the
// playbooks of every system already closed (into a dispatcher nobody
// serves), besides the process's own. After Close nothing may watch SIGHUP
// for that system.
func TestSIGHUPNotWatchedAfterClose(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	dir := t.TempDir()
	keys, _, err := codec.EnsureDevKeyring(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	pbs := filepath.Join(dir, "playbooks")
	if err := os.MkdirAll(pbs, 0o700); err != nil {
		t.Fatal(err)
	}
	writePlaybook(t, pbs, "a.yaml", reloadPlaybook("alpha", 1))
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // the caller's context outlives the system, as serve's does when its API fails
	sys, err := Start(ctx, Options{
		Logger:   logger,
		Keys:     keys,
		Slack:    SlackOff,
		Embedded: &EmbeddedOptions{DataDir: filepath.Join(dir, "data"), UIPort: -1, HTTPPort: -1},
		API: &APIOptions{Addr: "127.0.0.1:0", Token: reloadToken, Playbooks: []string{pbs},
			Config: filepath.Join(dir, "none.yaml"), PlaybookInput: "inline"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sys.Close()
	// This test's own watcher: a SIGHUP nobody watches would end the test
	// binary by its default action.
	guard := make(chan os.Signal, 1)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)
	before := strings.Count(logs.String(), "playbooks loaded")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	<-guard
	time.Sleep(time.Second)
	if after := strings.Count(logs.String(), "playbooks loaded"); after != before {
		t.Errorf("a SIGHUP after Close reloaded the closed system's playbooks (%d reloads); logs:\n%s", after-before, logs.String())
	}
}
