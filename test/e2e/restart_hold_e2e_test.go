//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/test/harness"
	"github.com/riposte-dev/riposte/workflows"
)

// TestContainForHoldSurvivesKill: README, "Undo and time-boxed
// containment": a contain_for hold "survives restarts". Two runs isolate a
// lab host each (CrowdStrike, testdata/restart-hold) and hold it; then the
// whole `riposte dev` (embedded Temporal, worker, API) is SIGKILLed while
// both holds are active, and started again on the same data dir once the
// short hold (8s) is due but the long one (45s) is not:
//
//   - short: its timer fell due while nothing ran; the restarted process
//     releases it (one lift_containment at the vendor, after the hold's
//     until), the hold reads released, the run succeeds;
//   - long: still held after the restart (no lift yet, the host still
//     contained), then released by the restarted process when due, once.
//
// The vendor fakes run in this process, so they outlive the kill and see
// every call.
func TestContainForHoldSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds riposte and kills riposte dev")
	}
	bin, err := harness.RiposteBinary()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	l, err := lab.Start(lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	var secrets []string
	conf := harness.LabConnections(t, l, func(name, value string) map[string]string {
		env := "RIPOSTE_LAB_" + strings.ToUpper(name)
		secrets = append(secrets, env+"="+value)
		return map[string]string{"env": env}
	})
	config := filepath.Join(work, "riposte.yaml")
	if err := os.WriteFile(config, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	playbooks, _ := filepath.Abs("testdata/restart-hold")
	token := "restart-hold-" + harness.RandomHex(16)
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "RIPOSTE_") && !strings.HasPrefix(name, "TEMPORAL_") && !strings.HasPrefix(name, "SLACK_") {
			env = append(env, kv)
		}
	}
	env = append(append(env, "RIPOSTE_API_TOKEN="+token, "RIPOSTE_LOG_FORMAT=text"), secrets...)
	httpPort, temporalPort := harness.FreePort(t), harness.FreePort(t)
	dev := newChaosProc(t, "riposte-dev", bin, work, env,
		"dev", "--data-dir", filepath.Join(work, "data"), "--playbooks", playbooks, "--config", config,
		"--http", fmt.Sprintf("127.0.0.1:%d", httpPort), "--temporal-port", strconv.Itoa(temporalPort),
		"--ui-port", "-1", "--log-level", "warn")
	cl := &chaosClient{base: fmt.Sprintf("http://127.0.0.1:%d", httpPort), token: token, hc: &http.Client{Timeout: 30 * time.Second}}
	up := func() {
		t.Helper()
		dev.start()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := cl.waitHealthy(ctx, dev); err != nil {
			t.Fatalf("riposte dev did not come up: %v\n%s", err, dev.tail(40))
		}
	}
	get := func(wid string) api.RunDetail {
		t.Helper()
		code, b, err := cl.do(context.Background(), "GET", "/v1/runs/"+url.PathEscape(wid), "")
		var d api.RunDetail
		if err != nil || code != 200 || json.Unmarshal(b, &d) != nil {
			t.Fatalf("GET run %s: %d %v %s", wid, code, err, b)
		}
		return d
	}
	lifts := func(host string) []lab.Call {
		var out []lab.Call
		for _, c := range l.CallsFor(lab.CrowdStrike, "lift_containment", host) {
			if c.Changed {
				out = append(out, c)
			}
		}
		return out
	}
	contained := func(host string) bool {
		for _, c := range l.State().ContainedHosts {
			if c.Vendor == lab.CrowdStrike && c.Hostname == host {
				return true
			}
		}
		return false
	}

	up()
	type held struct {
		wid, host string
		until     time.Time
	}
	submit := func(kind, uid, host string) held {
		t.Helper()
		body := fmt.Sprintf(`{"class_uid":2004,"time":1763458937000,"severity_id":4,"finding_info":{"uid":%q,"title":"restart hold"},"metadata":{"product":{"name":"x"}},"device":{"hostname":%q},"unmapped":{"restart_hold":%q}}`, uid, host, kind)
		code, b, err := cl.do(context.Background(), "POST", "/v1/detections", body)
		var r api.DetectionsResponse
		if err != nil || code != 202 || json.Unmarshal(b, &r) != nil {
			t.Fatalf("submit %s: %d %v %s", uid, code, err, b)
		}
		return held{wid: matched(t, r, "e2e-restart-"+kind), host: host}
	}
	short := submit("short", "restart-hold-short", "hr-ws-007")
	long := submit("long", "restart-hold-long", "ops-ws-011")
	for _, h := range []*held{&short, &long} {
		harness.WaitFor(t, time.Minute, h.wid+" to hold its containment", func() bool {
			d := get(h.wid)
			if len(d.Holds) == 1 && d.Holds[0].ReleasedAt == nil && !d.Holds[0].Until.IsZero() {
				h.until = d.Holds[0].Until
				return true
			}
			return false
		})
		if !contained(h.host) || len(lifts(h.host)) != 0 {
			t.Fatalf("%s: before the kill, want %s contained and not lifted; contained %v, lifts %+v", h.wid, h.host, contained(h.host), lifts(h.host))
		}
	}

	dev.kill("while both holds are active")
	// Down while the short hold's timer falls due.
	time.Sleep(time.Until(short.until) + 2*time.Second)
	if len(lifts(short.host)) != 0 {
		t.Fatalf("a lift reached the vendor while riposte dev was down: %+v", lifts(short.host))
	}
	restarted := time.Now()
	up()
	if !time.Now().Before(long.until) {
		t.Fatalf("riposte dev took until %s to restart, past the long hold's release at %s: the test proves nothing for it; raise its contain_for", time.Now().Format(time.RFC3339), long.until.Format(time.RFC3339))
	}

	check := func(h held, what string) {
		t.Helper()
		var d api.RunDetail
		harness.WaitFor(t, 2*time.Minute, h.wid+" to end", func() bool {
			d = get(h.wid)
			return d.ClosedAt != nil
		})
		if d.Status != workflows.RunSucceeded {
			t.Errorf("%s (%s): status %s, want succeeded (%s)", h.wid, what, d.Status, d.Error)
		}
		if len(d.Holds) != 1 || d.Holds[0].ReleasedAt == nil || d.Holds[0].Error != "" {
			t.Fatalf("%s (%s): want its hold released without error, got %+v", h.wid, what, d.Holds)
		}
		rel := *d.Holds[0].ReleasedAt
		if rel.Before(h.until) || rel.Before(restarted) {
			t.Errorf("%s (%s): released at %s, want after its until %s and after the restart %s", h.wid, what, rel, h.until, restarted)
		}
		ls := lifts(h.host)
		if len(ls) != 1 {
			t.Errorf("%s (%s): want exactly one lift_containment of %s at the vendor, got %+v", h.wid, what, h.host, ls)
		} else if ls[0].Time.Before(h.until) {
			t.Errorf("%s (%s): lifted at %s, before the hold's release time %s", h.wid, what, ls[0].Time, h.until)
		}
		if contained(h.host) {
			t.Errorf("%s (%s): %s still contained after the release", h.wid, what, h.host)
		}
	}
	check(short, "due while riposte dev was down")
	// The long hold outlived the restart: still held until its time.
	if time.Now().Before(long.until) {
		if d := get(long.wid); len(d.Holds) != 1 || d.Holds[0].ReleasedAt != nil || len(lifts(long.host)) != 0 || !contained(long.host) {
			t.Errorf("%s: released before its time %s: holds %+v, lifts %+v", long.wid, long.until, d.Holds, lifts(long.host))
		}
	}
	check(long, "due after the restart")
}
