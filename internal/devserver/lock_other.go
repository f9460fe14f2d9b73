//go:build !unix

package devserver

// lockDataDir is a no-op where flock(2) is not available.
func lockDataDir(string) (func() error, error) {
	return func() error { return nil }, nil
}
