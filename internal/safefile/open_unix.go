//go:build unix

package safefile

import (
	"os"
	"syscall"
)

// openFlags opens without blocking: opening a FIFO for reading waits for
// a writer, so read opens it at once and refuses it as not a regular
// file (O_NONBLOCK changes nothing for a regular file).
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK
