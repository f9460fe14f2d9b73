package system

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/internal/pbstore"
)

const reloadToken = "reload-test-token-0123456789"

// reloadPlaybook is a valid playbook named name at version v.
func reloadPlaybook(name string, v int) string {
	return fmt.Sprintf(`apiVersion: riposte/v1
name: %s
version: %d
trigger:
  when: detection.severity_id >= 4
steps:
  - id: note
    action: core.log
    with: {message: "%s"}
`, name, v, name)
}

// reloadFixture is the playbook source serve wires to POST
// /v1/playbooks/reload and SIGHUP, on a directory of playbooks, behind the
// API (the shared token holds the admin scope).
type reloadFixture struct {
	dir string
	src *playbookSource
	h   http.Handler
}

func newReloadFixture(t *testing.T) *reloadFixture {
	t.Helper()
	dir := t.TempDir()
	writePlaybook(t, dir, "a.yaml", reloadPlaybook("alpha", 1))
	store, err := pbstore.New(activities.Catalog(), pbstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	disp := &dispatch.Dispatcher{TaskQueue: "riposte", Namespace: "default"}
	src := &playbookSource{paths: []string{dir}, store: store, disp: disp, logger: slog.New(slog.DiscardHandler)}
	if err := src.load(); err != nil {
		t.Fatalf("initial load: %v", err)
	}
	srv := &api.Server{Dispatcher: disp, Catalog: activities.Catalog(), Token: reloadToken, Reload: src.load}
	return &reloadFixture{dir: dir, src: src, h: srv.Handler()}
}

func writePlaybook(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

// call sends method path with the shared token.
func (f *reloadFixture) call(method, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	r.Header.Set("Authorization", "Bearer "+reloadToken)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// names are the name@version of the playbooks the dispatcher starts runs of.
func (f *reloadFixture) names() []string {
	var out []string
	for _, c := range f.src.disp.Playbooks().Playbooks {
		out = append(out, fmt.Sprintf("%s@%d", c.Playbook.Name, c.Playbook.Version))
	}
	slices.Sort(out)
	return out
}

// listed are the name@version GET /v1/playbooks (or a reload) answers.
func listed(t *testing.T, w *httptest.ResponseRecorder) []string {
	t.Helper()
	var body struct{ Playbooks []api.PlaybookInfo }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %s: %v", w.Body, err)
	}
	var out []string
	for _, p := range body.Playbooks {
		out = append(out, fmt.Sprintf("%s@%d", p.Name, p.Version))
	}
	slices.Sort(out)
	return out
}

// POST /v1/playbooks/reload puts a valid new set in use and answers it; an
// invalid set is refused with 422 naming the problem, and the previous set
// stays in use (README: "an invalid set is refused and the previous one
// kept").
func TestReloadEndpoint(t *testing.T) {
	f := newReloadFixture(t)
	want := []string{"alpha@1"}
	if got := f.names(); !slices.Equal(got, want) {
		t.Fatalf("initial set %v, want %v", got, want)
	}
	steps := []struct {
		name   string
		change func()
		status int
		// detail is in the refusal's problem detail (422 only).
		detail string
		// want is the set in use after the call.
		want []string
	}{
		{"new version and a new playbook take effect", func() {
			writePlaybook(t, f.dir, "a.yaml", reloadPlaybook("alpha", 2))
			writePlaybook(t, f.dir, "b.yaml", reloadPlaybook("beta", 1))
		}, http.StatusOK, "", []string{"alpha@2", "beta@1"}},
		{"an invalid playbook refuses the whole set", func() {
			writePlaybook(t, f.dir, "a.yaml", reloadPlaybook("alpha", 3))
			writePlaybook(t, f.dir, "c.yaml", "apiVersion: riposte/v1\nname: broken\nsteps: 3\n")
		}, http.StatusUnprocessableEntity, "c.yaml", []string{"alpha@2", "beta@1"}},
		{"an unknown action refuses the whole set", func() {
			writePlaybook(t, f.dir, "c.yaml", strings.Replace(reloadPlaybook("gamma", 1), "core.log", "core.no_such_action", 1))
		}, http.StatusUnprocessableEntity, "core.no_such_action", []string{"alpha@2", "beta@1"}},
		{"fixed again, the new set takes effect", func() {
			if err := os.Remove(filepath.Join(f.dir, "c.yaml")); err != nil {
				t.Fatal(err)
			}
		}, http.StatusOK, "", []string{"alpha@3", "beta@1"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.change()
			w := f.call("POST", "/v1/playbooks/reload")
			if w.Code != st.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, st.status, w.Body)
			}
			if st.status == http.StatusOK {
				if got := listed(t, w); !slices.Equal(got, st.want) {
					t.Errorf("reload answered %v, want %v", got, st.want)
				}
			} else {
				var pr struct{ Title, Detail string }
				if err := json.Unmarshal(w.Body.Bytes(), &pr); err != nil {
					t.Fatal(err)
				}
				if ct := w.Header().Get("Content-Type"); !strings.Contains(ct, "problem+json") ||
					pr.Title != "Playbooks invalid; kept the previous set" || !strings.Contains(pr.Detail, st.detail) {
					t.Errorf("refusal %s (%s), want the kept-set problem naming %q", w.Body, ct, st.detail)
				}
			}
			if got := f.names(); !slices.Equal(got, st.want) {
				t.Errorf("set in use %v, want %v", got, st.want)
			}
			if got := listed(t, f.call("GET", "/v1/playbooks")); !slices.Equal(got, st.want) {
				t.Errorf("GET /v1/playbooks lists %v, want %v", got, st.want)
			}
		})
	}
}

// SIGHUP reloads the playbooks as the endpoint does: a valid set takes
// effect, an invalid one is refused (logged) and the previous set kept.
func TestReloadOnSIGHUP(t *testing.T) {
	f := newReloadFixture(t)
	var logs logBuf
	f.src.logger = slog.New(slog.NewTextHandler(&logs, nil))
	ctx := t.Context()
	f.src.watchHUP(ctx) // signal.Notify is in place when it returns
	hup := func() {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s after SIGHUP; set in use %v, logs:\n%s", what, f.names(), logs.String())
			}
		}
	}

	writePlaybook(t, f.dir, "a.yaml", reloadPlaybook("alpha", 2))
	hup()
	waitFor("reload", func() bool { return slices.Equal(f.names(), []string{"alpha@2"}) })

	writePlaybook(t, f.dir, "a.yaml", "apiVersion: riposte/v1\nname: alpha\nsteps: 3\n")
	hup()
	waitFor("refusal", func() bool {
		return strings.Contains(logs.String(), "reload refused: playbooks invalid; keeping the previous set")
	})
	if got := f.names(); !slices.Equal(got, []string{"alpha@2"}) {
		t.Errorf("after an invalid set, set in use %v, want the previous [alpha@2]", got)
	}
}

// logBuf collects log output written from another goroutine.
type logBuf struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// A reload says which files under the playbook paths it skipped, as
// start-up does (siteFileNote, at the same level): a team that adds a
// Compose file or a policy.yaml beside the playbooks and reloads learns
// that it is not a playbook, and that the policy there is not the one in
// effect. The reload logged nothing of them.
func TestReloadLogsSkippedFiles(t *testing.T) {
	f := newReloadFixture(t)
	var logs logBuf
	f.src.logger = slog.New(slog.NewTextHandler(&logs, nil))
	compose, err := os.ReadFile(filepath.Join("..", "playbook", "testdata", "other", "compose-secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writePlaybook(t, f.dir, "compose.yaml", string(compose))
	writePlaybook(t, f.dir, "policy.yaml", "{}\n")
	if w := f.call("POST", "/v1/playbooks/reload"); w.Code != http.StatusOK {
		t.Fatalf("reload: status %d, body %s", w.Code, w.Body)
	}
	for _, want := range []string{
		`level=INFO msg="playbooks: another tool's YAML, not a playbook, skipped" file=` + filepath.Join(f.dir, "compose.yaml") + ` holds="a Compose file"`,
		`level=WARN msg="playbooks: a policy file under the playbook paths is not a playbook, skipped; the guardrails are the file the workers name by --policy / RIPOSTE_POLICY, this one only if they name it" file=` + filepath.Join(f.dir, "policy.yaml") + ` holds=policy`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("reload log does not say\n%s\nlog:\n%s", want, logs.String())
		}
	}
	// The policy in effect (riposte dev --playbooks . --policy policy.yaml)
	// is said at INFO, as at start-up.
	f.src.policy = filepath.Join(f.dir, "policy.yaml")
	if w := f.call("POST", "/v1/playbooks/reload"); w.Code != http.StatusOK {
		t.Fatalf("reload: status %d, body %s", w.Code, w.Body)
	}
	if want := `level=INFO msg="playbooks: not a playbook, skipped (it is the policy in effect)" file=` + filepath.Join(f.dir, "policy.yaml"); !strings.Contains(logs.String(), want) {
		t.Errorf("reload log does not say\n%s\nlog:\n%s", want, logs.String())
	}
}
