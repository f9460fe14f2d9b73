package playbook

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestScratchDur(t *testing.T) {
	for _, d := range []time.Duration{30 * time.Second, 90 * time.Second, 2 * time.Minute, 90 * time.Minute, 4 * time.Hour, 48 * time.Hour, 36 * time.Hour, 1500 * time.Millisecond, -time.Second} {
		t.Logf("%v -> %q", d, Duration(d).String())
	}
}

func TestScratchBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("x0: &a0 [1,1,1,1,1,1,1,1,1,1]\n")
	for i := 1; i < 7; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	src := "apiVersion: riposte/v1\nname: x\nversion: 1\ntrigger: {when: 'true'}\nsteps:\n  - id: a\n    action: core.noop\n    with:\n      " + strings.ReplaceAll(b.String(), "\n", "\n      ") + "\n"
	t.Logf("%d bytes", len(src))
	start := time.Now()
	_, d := Parse("x", []byte(src))
	t.Logf("%v %v", time.Since(start), d)
}
