//go:build unix

package pbstore

import "syscall"

// access modes of access(2): read or write, with search (x) on a
// directory.
const (
	accessRead  = 0x4 | 0x1
	accessWrite = 0x2 | 0x1
)

func access(path string, mode uint32) error { return syscall.Access(path, mode) }
