package system

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/codec"
)

func TestListenAddr(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{"8080", "127.0.0.1:8080", ""},
		{"0", "127.0.0.1:0", ""},
		{"0.0.0.0:8080", "0.0.0.0:8080", ""},
		{":9090", ":9090", ""},
		{"70000", "", "out of range"},
		{"nope", "", "is not host:port or a port"},
		{"host:port", "", `port "port" is not a number`},
	} {
		got, err := ListenAddr("--http", tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "--http") {
				t.Errorf("%q: err %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// Bad settings and files refuse start with the exit code they call for,
// before anything heavy starts (no Temporal is reachable here: getting
// that far would be a different error).
func TestStartRefusesBeforeStarting(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: riposte/v1\nname: x\nsteps: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	typo := filepath.Join(dir, "riposte.yaml")
	if err := os.WriteFile(typo, []byte("detections:\n  confidence_id: {1: 10}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, _, err := codec.EnsureDevKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    Options
		code int
		want string
	}{
		{"bad address", Options{Keys: keys, API: &APIOptions{Addr: "nope", Playbooks: []string{dir}}}, 2, "--http"},
		{"invalid playbook", Options{Keys: keys, API: &APIOptions{Addr: "0", Playbooks: []string{bad}}}, 1, "playbooks are invalid; not starting"},
		{"no playbooks at the path", Options{Keys: keys, API: &APIOptions{Addr: "0", Playbooks: []string{dir + "/missing"}}}, 1,
			"cannot read the playbooks at " + dir + "/missing (--playbooks or RIPOSTE_PLAYBOOKS names them); not starting"},
		{"no decision keys", Options{}, 2, "decisions are signed"},
		{"misspelt detections key", Options{Keys: keys, API: &APIOptions{Addr: "0", Playbooks: []string{"../../playbooks"}, Config: typo}}, 1,
			typo + `:2:3: unknown key detections.confidence_id (did you mean "confidence_ids"?)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(context.Background(), tc.o)
			var se *Error
			if !errors.As(err, &se) || se.Code != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want exit %d with %q", err, tc.code, tc.want)
			}
		})
	}
}

func TestSplitList(t *testing.T) {
	if got := SplitList(" a, ,b ,"); strings.Join(got, "|") != "a|b" {
		t.Errorf("SplitList = %q", got)
	}
	if got := SplitList(""); got != nil {
		t.Errorf("SplitList(\"\") = %q", got)
	}
}

// The worker reads riposte.yaml through LoadConnections: the detections:
// section is checked there too (it used to be read by serve only), and
// warnings are logged with their position.
func TestLoadConnectionsChecksWholeFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "riposte.yaml")
	if err := os.WriteFile(path, []byte("connections: {}\ndetections:\n  confidence_id: {1: 10}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := LoadConnections(path, nil)
	var se *Error
	if !errors.As(err, &se) || se.Code != 1 || !strings.Contains(err.Error(), path+":3:3: unknown key detections.confidence_id") {
		t.Fatalf("err = %v", err)
	}
	if err := os.WriteFile(path, []byte("connections: {}\nconection: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	if _, ok, err := LoadConnections(path, slog.New(slog.NewTextHandler(&logs, nil))); err != nil || !ok {
		t.Fatalf("ok %v, err %v", ok, err)
	}
	if want := path + `:2:1: warning: unknown top-level key \"conection\"`; !strings.Contains(logs.String(), want) {
		t.Errorf("logs lack %q:\n%s", want, logs.String())
	}
}
