package harness

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a child process whose output is kept (and copied to Log). It
// runs in its own process group and can be killed and started again.
type Process struct {
	Name string
	Path string
	Args []string
	Env  []string
	Dir  string
	Cred *syscall.Credential // run as this user (nil: as the test)
	// Log, when set, receives the output too, with a line marking each
	// start.
	Log io.Writer

	mu      sync.Mutex
	cmd     *exec.Cmd
	out     bytes.Buffer
	exited  chan struct{}
	exitErr error
	starts  int
}

// Start starts the process (again, after a Kill or Stop).
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !p.isExited() {
		return fmt.Errorf("%s is running", p.Name)
	}
	p.starts++
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = p.Env
	cmd.Dir = p.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.Cred}
	dieWithParent(cmd.SysProcAttr)
	w := io.Writer(&lockedWriter{p: p})
	if p.Log != nil {
		fmt.Fprintf(p.Log, "==== start #%d %s\n", p.starts, time.Now().Format(time.RFC3339Nano))
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	p.cmd = cmd
	exited := make(chan struct{})
	p.exited = exited
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

type lockedWriter struct{ p *Process }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	w.p.out.Write(b)
	if w.p.Log != nil {
		_, _ = w.p.Log.Write(b)
	}
	return len(b), nil
}

func (p *Process) isExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Running reports whether the process is alive.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !p.isExited()
}

// Output is everything the process printed, over all its starts.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Tail is the last n lines of Output.
func (p *Process) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Output(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 600 {
			lines[i] = l[:600] + "…"
		}
	}
	return strings.Join(lines, "\n")
}

// Kill sends SIGKILL (to the process group) and waits for the exit.
func (p *Process) Kill() {
	p.signal(syscall.SIGKILL, 0)
}

// Stop sends SIGTERM and waits up to grace, then SIGKILL.
func (p *Process) Stop(grace time.Duration) {
	p.signal(syscall.SIGTERM, grace)
}

func (p *Process) signal(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
	if sig != syscall.SIGKILL {
		select {
		case <-exited:
			return
		case <-time.After(grace):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	<-exited
}

// WaitOutput waits until the output (since the given offset) contains s.
func (p *Process) WaitOutput(t testing.TB, d time.Duration, from int, s string) {
	t.Helper()
	WaitFor(t, d, fmt.Sprintf("%s to print %q", p.Name, s), func() bool {
		out := p.Output()
		if from > len(out) {
			from = 0
		}
		if strings.Contains(out[from:], s) {
			return true
		}
		if !p.Running() {
			t.Fatalf("%s exited (%v) before printing %q:\n%s", p.Name, p.exitErr, s, p.Tail(40))
		}
		return false
	})
}

// OutputLen is the length of Output, for WaitOutput's from.
func (p *Process) OutputLen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Len()
}

// Starts is how many times the process was started.
func (p *Process) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// Err is the last exit's error (nil while running or after a clean exit).
func (p *Process) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}

// MustRun fails the test when the process has exited.
func (p *Process) MustRun(t testing.TB) {
	t.Helper()
	if !p.Running() {
		t.Fatalf("%s exited (%v):\n%s", p.Name, p.Err(), p.Tail(40))
	}
}

// StartProcess starts p for the test: it is stopped (SIGTERM, then
// SIGKILL after 15s) when the test ends, and its output's tail is logged
// when the test failed.
func StartProcess(t testing.TB, p *Process) *Process {
	t.Helper()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop(15 * time.Second)
		if t.Failed() {
			t.Logf("%s output:\n%s", p.Name, p.Tail(80))
		}
	})
	return p
}

// dieWithParent asks the kernel to SIGKILL the child if this process dies
// without running its cleanups (a test timeout panics): Linux's Pdeathsig,
// set by reflection since the field exists only there. Elsewhere the
// cleanup's kill is the only guard.
func dieWithParent(a *syscall.SysProcAttr) {
	if f := reflect.ValueOf(a).Elem().FieldByName("Pdeathsig"); f.IsValid() && f.CanSet() {
		f.Set(reflect.ValueOf(syscall.SIGKILL))
	}
}
