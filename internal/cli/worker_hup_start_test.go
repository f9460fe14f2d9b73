package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The worker ignores SIGHUP (serve's reload signal; `docker compose kill
// -s HUP` without a service name sends it to the workers too) only from
// the moment it polls until ctx ends: while it starts (connecting to a
// Temporal that does not answer yet) and while it stops (sys.Close lets
// the steps in flight finish, up to 30 s), the signal's default action
// still ends the process, steps in flight included. Here the worker is
// started against a frontend that accepts connections and never answers,
// and gets a SIGHUP while it connects: it must not die of it.
func TestWorkerSurvivesSIGHUPWhileStarting(t *testing.T) {
	if os.Getenv("RIPOSTE_TEST_HUP_CHILD") != "" {
		hupChild()
		return
	}
	hupWhileStarting(t, "worker", "TestWorkerSurvivesSIGHUPWhileStarting")
}

// serve reloads playbooks on SIGHUP only from the moment its API is up
// until ctx ends (SIGTERM): while it connects to Temporal, and while it
// shuts down (RIPOSTE_SHUTDOWN_DELAY still answering, then the requests
// in flight and the Slack clicks already acknowledged finishing), a
// SIGHUP ends it by the default action, dropping those clicks: the votes
// of approvers who saw them go through.
func TestServeSurvivesSIGHUPWhileStarting(t *testing.T) {
	if os.Getenv("RIPOSTE_TEST_HUP_CHILD") != "" {
		hupChild()
		return
	}
	hupWhileStarting(t, "serve", "TestServeSurvivesSIGHUPWhileStarting")
}

func hupWhileStarting(t *testing.T, which, name string) {
	if testing.Short() {
		t.Skip("runs a worker in a child process")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c) }() // never answers
		}
	}()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$")
	cmd.Env = append(os.Environ(),
		"RIPOSTE_TEST_HUP_CHILD="+which, "RIPOSTE_API_TOKEN=hup-test-token", "RIPOSTE_USER=",
		"RIPOSTE_TEST_HUP_ADDR="+ln.Addr().String(),
		"RIPOSTE_TEST_HUP_DIR="+t.TempDir(),
		"RIPOSTE_CODEC_KEY_FILE=",
		fmt.Sprintf(`RIPOSTE_CODEC_KEYS={"active":"k1","keys":{"k1":%q}}`, base64.StdEncoding.EncodeToString(key)),
		"RIPOSTE_DECISION_KEY_FILE=", "RIPOSTE_DECISION_KEYS=")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child connects to the silent frontend for seconds.
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("riposte %s, connecting to Temporal, was killed by a SIGHUP (%v)\n%s", which, ws.Signal(), out.String())
		}
	}
}

func hupChild() {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	if os.Getenv("RIPOSTE_TEST_HUP_CHILD") == "serve" {
		var o serveOptions
		o.Temporal.Address, o.Temporal.Namespace, o.Temporal.TaskQueue = os.Getenv("RIPOSTE_TEST_HUP_ADDR"), "default", "riposte"
		o.LogLevel = "error"
		o.Observe.MetricsAddr = "127.0.0.1:0"
		o.HTTP = "127.0.0.1:0"
		o.Config = filepath.Join(os.Getenv("RIPOSTE_TEST_HUP_DIR"), "none.yaml")
		o.Playbooks = filepath.Join(os.Getenv("RIPOSTE_TEST_HUP_DIR"), "playbooks")
		_ = os.MkdirAll(o.Playbooks, 0o755)
		err := runServe(ctx, o, Streams{Out: os.Stdout, Err: os.Stderr})
		fmt.Println("runServe returned:", err)
		return
	}
	var o workerOptions
	o.Temporal.Address, o.Temporal.Namespace, o.Temporal.TaskQueue = os.Getenv("RIPOSTE_TEST_HUP_ADDR"), "default", "riposte"
	o.LogLevel = "error"
	o.Observe.MetricsAddr = "127.0.0.1:0"
	o.Runtime.Config = filepath.Join(os.Getenv("RIPOSTE_TEST_HUP_DIR"), "none.yaml")
	o.Runtime.StickyCache = 10
	err := runWorker(ctx, o, Streams{Out: os.Stdout, Err: os.Stderr})
	fmt.Println("runWorker returned:", err)
}
