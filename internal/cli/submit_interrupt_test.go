package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// riposte submit a.json b.json c.json interrupted (Ctrl-C) while a.json
// was in flight stopped, as it should, but its message lost the file: the
// error naming it was wrapped around the exit-130 error and only the inner
// one was printed ("interrupted before the API … answered POST
// /v1/detections"), and b.json and c.json, never sent, were named nowhere
// (what 2773b54 fixed for an unreadable file). The message names the file
// in flight and the files not sent.
func TestSubmitInterruptedNamesTheFiles(t *testing.T) {
	srv := silentAPI(t)
	dir := t.TempDir()
	var files []string
	for _, n := range []string{"a.json", "b.json", "c.json"} {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte(`{}`), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	var out, errb bytes.Buffer
	code := Main(ctx, append([]string{"submit", "--api", srv.URL, "--token", "t"}, files...), Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != 130 || !strings.Contains(errb.String(), files[0]) || !strings.Contains(errb.String(), files[1]) || !strings.Contains(errb.String(), files[2]) {
		t.Errorf("exit %d, stderr does not name the file in flight and the files not sent:\n%s", code, errb.String())
	}
}

// riposte submit - reading a detection from stdin (typed, or a producer
// still writing) did not stop on Ctrl-C: main catches the signal into the
// context, which the read of stdin never looked at, so the command hung
// until stdin closed, and then said the API "may have carried the request
// out" of a request it never sent. It stops at once, exit 130, saying
// nothing was sent.
func TestSubmitStdinInterrupted(t *testing.T) {
	srv := fakeAPI(t, map[string]any{})
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	var out, errb bytes.Buffer
	res := make(chan int, 1)
	go func() {
		res <- Main(ctx, []string{"submit", "--api", srv.URL, "--token", "t", "-"}, Streams{In: pr, Out: &out, Err: &errb})
	}()
	select {
	case code := <-res:
		if code != 130 || strings.Contains(errb.String(), "may have") || !strings.Contains(errb.String(), "not sent") {
			t.Errorf("exit %d, stderr %s", code, errb.String())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("riposte submit - did not stop 3s after the interruption: it waits for stdin to close")
	}
}
