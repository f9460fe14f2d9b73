//go:build unix

package safefile

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A FIFO in a playbook directory (a named pipe called x.yaml, or a link
// to one) is refused as not a regular file, at once: docs/architecture.md
// says a hostile directory entry cannot block the process. Opening it for
// reading blocked until a writer came (forever: riposte validate hung,
// start-up and every reload too, SIGTERM did not end validate).
func TestReadFileFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := ReadFile(fifo, MaxSize)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("FIFO: %v, want not a regular file", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadFile of a FIFO blocked (still waiting after 5s)")
	}
}
