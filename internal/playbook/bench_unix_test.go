//go:build unix

package playbook_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used so far (user + system). The
// benchmarks report it beside wall time, which is unreliable on a busy host.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
