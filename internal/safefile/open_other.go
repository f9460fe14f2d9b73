//go:build !unix

package safefile

import "os"

// openFlags: see open_unix.go.
const openFlags = os.O_RDONLY
