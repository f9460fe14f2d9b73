//go:build unix

package devserver

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDataDir takes an exclusive advisory lock on <db>.lock so that two
// servers (in this process or another) never share one database: Temporal
// assumes it owns its persistence, and two clusters on one file would keep
// stealing history shards from each other. The lock goes away with the
// process, so a crash never leaves a stale lock behind.
func lockDataDir(dbPath string) (release func() error, err error) {
	path := dbPath + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another running dev server (lock %s held)", dbPath, path)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f.Close, nil
}
