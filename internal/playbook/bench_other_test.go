//go:build !unix

package playbook_test

import "time"

// cpuTime is not measured on this platform.
func cpuTime() time.Duration { return 0 }
