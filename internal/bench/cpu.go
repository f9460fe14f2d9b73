package bench

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuMark is a point in time for CPU accounting: this process's CPU time
// and the whole machine's busy and total jiffies.
type cpuMark struct {
	at          time.Time
	proc        time.Duration
	busy, total uint64
}

func markCPU() cpuMark {
	m := cpuMark{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		m.proc = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		if len(f) > 5 && f[0] == "cpu" {
			for i, s := range f[1:] {
				n, _ := strconv.ParseUint(s, 10, 64)
				m.total += n
				if i != 3 && i != 4 { // idle, iowait
					m.busy += n
				}
			}
		}
	}
	return m
}

// cpuUse is CPU use between two marks.
type cpuUse struct {
	Wall time.Duration
	// Proc is this process's CPU time (all threads).
	Proc time.Duration
	// Cores is Proc / Wall: cores this process kept busy on average.
	Cores float64
	// MachineBusy is the share of the whole machine's CPU that was busy
	// (this process and everything else), 0..1.
	MachineBusy float64
}

func since(m cpuMark) cpuUse {
	n := markCPU()
	u := cpuUse{Wall: n.at.Sub(m.at), Proc: n.proc - m.proc}
	if u.Wall > 0 {
		u.Cores = u.Proc.Seconds() / u.Wall.Seconds()
	}
	if n.total > m.total {
		u.MachineBusy = float64(n.busy-m.busy) / float64(n.total-m.total)
	}
	return u
}

// add pools two stretches of CPU use (e.g. the rounds of one phase).
func (u cpuUse) add(v cpuUse) cpuUse {
	out := cpuUse{Wall: u.Wall + v.Wall, Proc: u.Proc + v.Proc}
	if out.Wall > 0 {
		out.Cores = out.Proc.Seconds() / out.Wall.Seconds()
		out.MachineBusy = (u.MachineBusy*u.Wall.Seconds() + v.MachineBusy*v.Wall.Seconds()) / out.Wall.Seconds()
	}
	return out
}
