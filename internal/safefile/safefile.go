// Package safefile reads configuration and playbook files defensively: the
// size is checked before anything is read, and anything but a regular file
// (a symlink to /dev/zero, a FIFO, a device) is refused, so a hostile
// directory entry cannot exhaust memory or block the process.
package safefile

import (
	"fmt"
	"io"
	"os"
)

// MaxSize is the default limit for YAML and JSON inputs.
const MaxSize = 4 << 20

// ReadFile is os.ReadFile with a size limit and a regular-file check made
// on the opened file (no race between the check and the read).
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s); refusing to read it", path, st.Mode().Type())
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes; the limit is %d", path, st.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s grew past the limit of %d bytes while being read", path, limit)
	}
	return b, nil
}
