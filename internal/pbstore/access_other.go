//go:build !unix

package pbstore

const (
	accessRead  = 0
	accessWrite = 0
)

// access is not checked here; opening and writing files reports it.
func access(string, uint32) error { return nil }
