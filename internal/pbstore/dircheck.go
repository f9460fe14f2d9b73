package pbstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// CheckDir checks that dir can be a store's directory, without creating
// anything: an existing directory this process can read (writable says
// whether it can also add versions to it), or a path New can create (its
// nearest existing parent is a directory this process can write). New
// refuses what CheckDir refuses; riposte doctor reports it.
func CheckDir(dir string) (writable bool, err error) {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return false, fmt.Errorf("playbook store %s is not a directory", dir)
	case err == nil:
		if err := access(dir, accessRead); err != nil {
			return false, fmt.Errorf("playbook store %s is not readable: %w", dir, err)
		}
		return access(dir, accessWrite) == nil, nil
	case !missing(err):
		return false, fmt.Errorf("playbook store: %w", err)
	}
	// Missing: New creates it (and any missing parents).
	parent := filepath.Dir(filepath.Clean(dir))
	for {
		fi, err := os.Stat(parent)
		if err == nil {
			if !fi.IsDir() {
				return false, fmt.Errorf("playbook store %s cannot be created: %s is not a directory", dir, parent)
			}
			if err := access(parent, accessWrite); err != nil {
				return false, fmt.Errorf("playbook store %s cannot be created: %s is not writable: %w", dir, parent, err)
			}
			return true, nil
		}
		if !missing(err) {
			return false, fmt.Errorf("playbook store: %w", err)
		}
		next := filepath.Dir(parent)
		if next == parent {
			return true, nil
		}
		parent = next
	}
}

// missing: the path does not exist, or a parent of it is not a directory
// (the walk up finds which).
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
