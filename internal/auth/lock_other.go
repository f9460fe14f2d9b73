//go:build !unix

package auth

// lockFile is a no-op where flock(2) is not available: only the Store's
// mutex orders changes, within one process.
func lockFile(string) (func(), error) { return func() {}, nil }
