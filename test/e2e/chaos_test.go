//go:build unix

package e2e

// TestChaos: crash-proof runs with no double containment.
//
// A load of detections keeps runs going while whole processes die by
// SIGKILL at random (seeded) moments and are restarted on the same data:
//
//   - dev: the whole `riposte dev` (embedded Temporal, worker, API) is
//     killed and restarted on its data dir, ports and token;
//   - worker: Temporal runs in the test process and `riposte serve` in a
//     child that stays up; only the `riposte worker` child is killed.
//
// Some kills land while the victim is still starting. The vendor fakes
// (internal/lab) run in the test process, so they outlive the kills and
// see every call; the children reach them through a riposte.yaml whose
// secrets are {env: …} refs. A quarter of the runs wait at an approval
// gate; the test votes through POST /v1/runs/{id}/approvals during the
// chaos, first as a non-approver (must be refused), then as the approver,
// retrying through the kills. At the end:
//
//   - every acknowledged detection has exactly one run, the one answered,
//     and every run succeeded with every step;
//   - no step changed vendor state twice (the lab records each call's
//     Idempotency-Key), every IP was blocked exactly once, every run
//     opened exactly one ticket;
//   - every gate holds exactly one vote, the approver's, and ran its step;
//   - the guard workflow holds exactly one budget slot per automatic block.
//
// The playbooks (testdata/chaos) set `timeout: 5s` on every step: a step
// whose worker died is retried only when its attempt times out (5m by
// default).
//
// Short form (CI; 3 kills per variant, about a minute with the build):
//
//	go test ./test/e2e -run TestChaos -v
//
// Long form (20 kills per variant, about 5 minutes):
//
//	go test ./test/e2e -run TestChaos -v -timeout 30m -chaos.kills=20
//
// -chaos.seed=N replays a run's kill timing and load (the seed is logged;
// process timing still varies), -chaos.bin=PATH skips the build,
// -run TestChaos/dev or TestChaos/worker runs one variant, -artifacts
// -outputdir DIR keeps the children's logs. -chaos.probe=false and
// -chaos.budget=false leave out the non-approver vote and the budget.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/test/harness"
	"github.com/riposte-dev/riposte/workflows"
)

var (
	chaosKills  = flag.Int("chaos.kills", 3, "TestChaos: SIGKILLs per variant (the long form uses 20 or more)")
	chaosSeed   = flag.Uint64("chaos.seed", 0, "TestChaos: seed of the kill timing and the load (0 = from the clock; the test logs it)")
	chaosBin    = flag.String("chaos.bin", "", "TestChaos: riposte binary to run instead of building ./cmd/riposte")
	chaosProbe  = flag.Bool("chaos.probe", true, "TestChaos: before each approval, vote as a non-approver and require a refusal")
	chaosBudget = flag.Bool("chaos.budget", true, "TestChaos: give the children a policy with a (large) budget on panos.block_ip, so every automatic block reserves a slot in the guard workflow")
)

const (
	chaosApprover    = "UCHAOSLEAD"     // the gated playbook's only approver
	chaosNonApprover = "UCHAOSINTRUDER" // not an approver: must always be refused
	chaosProduct     = "Riposte Chaos"
	chaosContain     = "chaos-contain"
	chaosGated       = "chaos-gated"
	// chaosMaxPerPlaybook keeps every run of a playbook in one page of
	// GET /v1/runs (limit 1000).
	chaosMaxPerPlaybook = 900
)

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("builds riposte and kills it repeatedly")
	}
	kills := *chaosKills
	if kills < 1 {
		t.Fatalf("-chaos.kills=%d: need at least 1", kills)
	}
	seed := *chaosSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("chaos: seed %d, %d kills per variant (replay with -chaos.seed=%d -chaos.kills=%d)", seed, kills, seed, kills)
	bin := *chaosBin
	if bin == "" {
		bin = buildChaosBinary(t)
	}
	t.Run("dev", func(t *testing.T) { chaosKillDev(t, bin, seed, kills) })
	t.Run("worker", func(t *testing.T) { chaosKillWorker(t, bin, seed+1, kills) })
}

// buildChaosBinary builds cmd/riposte once for both variants.
func buildChaosBinary(t *testing.T) string {
	t.Helper()
	bin, err := harness.RiposteBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// --- the two variants ---

// chaosKillDev kills the whole riposte dev process.
func chaosKillDev(t *testing.T, bin string, seed uint64, kills int) {
	rng := mrand.New(mrand.NewPCG(seed, 0xc4a05))
	work := t.TempDir()
	fx := newChaosFixture(t, work)
	httpPort, temporalPort := harness.FreePort(t), harness.FreePort(t)
	apiURL := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	dev := newChaosProc(t, "riposte-dev", bin, work, fx.env(nil),
		"dev", "--data-dir", filepath.Join(work, "data"), "--playbooks", fx.playbooks,
		"--config", fx.config, "--policy", fx.policy,
		"--http", fmt.Sprintf("127.0.0.1:%d", httpPort), "--temporal-port", strconv.Itoa(temporalPort),
		"--ui-port", "-1", "--log-level", "warn")
	cl := &chaosClient{base: apiURL, token: fx.token, hc: &http.Client{Timeout: 30 * time.Second}}
	ready := func(ctx context.Context) error { return cl.waitHealthy(ctx, dev) }

	dev.start()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	if err := ready(ctx); err != nil {
		cancel()
		t.Fatalf("riposte dev did not come up: %v\n%s", err, dev.tail(40))
	}
	cancel()
	runChaos(t, chaosRun{rng: rng, kills: kills, victim: dev, ready: ready, client: cl, lab: fx.lab, ipOctet: 64, uidPrefix: "dev", personal: fx.personal,
		temporal: fmt.Sprintf("127.0.0.1:%d", temporalPort)})
}

// chaosKillWorker keeps Temporal (in this process) and riposte serve up and
// kills only riposte worker.
func chaosKillWorker(t *testing.T, bin string, seed uint64, kills int) {
	rng := mrand.New(mrand.NewPCG(seed, 0xc4a05))
	work := t.TempDir()
	fx := newChaosFixture(t, work)
	srv, err := devserver.Start(context.Background(), devserver.Options{
		DataDir: filepath.Join(work, "temporal"), UIPort: -1, HTTPPort: -1,
		SearchAttributes: workflows.SearchAttributeTypes(),
	})
	if err != nil {
		t.Fatalf("embedded Temporal: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keys := fmt.Sprintf(`{"active":"chaos","keys":{"chaos":%q}}`, base64.StdEncoding.EncodeToString(key))
	common := []string{"RIPOSTE_CODEC_KEYS=" + keys, "TEMPORAL_ADDRESS=" + srv.FrontendAddress(), "TEMPORAL_NAMESPACE=" + srv.Namespace()}

	httpPort := harness.FreePort(t)
	serve := newChaosProc(t, "riposte-serve", bin, work, fx.env(common),
		"serve", "--playbooks", fx.playbooks, "--http", fmt.Sprintf("127.0.0.1:%d", httpPort), "--log-level", "warn")
	worker := newChaosProc(t, "riposte-worker", bin, work, fx.env(common),
		// With the playbooks, as docker-compose mounts them: the worker
		// loads runs by reference and announces the latest revision, so serve
		// starts runs whose ticket is a local step and whose containment
		// checks the guardrails inside its activity, killed mid-call here.
		"worker", "--config", fx.config, "--policy", fx.policy, "--playbooks", fx.playbooks, "--log-level", "warn")
	cl := &chaosClient{base: fmt.Sprintf("http://127.0.0.1:%d", httpPort), token: fx.token, hc: &http.Client{Timeout: 30 * time.Second}}

	serve.start()
	worker.start()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cl.waitHealthy(ctx, serve); err != nil {
		t.Fatalf("riposte serve did not come up: %v\n%s", err, serve.tail(40))
	}
	// The worker has no HTTP endpoint: it is ready once it polls.
	ready := func(ctx context.Context) error { return worker.waitLog(ctx, "Riposte worker polling") }
	if err := ready(ctx); err != nil {
		t.Fatalf("riposte worker did not come up: %v\n%s", err, worker.tail(40))
	}
	// serve starts runs inline until the server lists the worker among the
	// task queue's pollers (the worker may log before its first poll
	// arrives), and keeps that answer 2 s: wait for both, so every run of
	// the load goes by reference at the latest revision. A killed worker
	// stays listed for minutes, so the answer holds through the kills.
	waitWorkersAt(ctx, t, srv.FrontendAddress(), workflows.DefaultTaskQueue, workflows.LatestRev)
	time.Sleep(2500 * time.Millisecond)
	runChaos(t, chaosRun{rng: rng, kills: kills, victim: worker, ready: ready, client: cl, lab: fx.lab, ipOctet: 65, uidPrefix: "wrk", personal: fx.personal, temporal: srv.FrontendAddress(),
		check: func() {
			if serve.exited() {
				t.Errorf("riposte serve exited during the chaos; it was never killed\n%s", serve.tail(40))
			}
		}})
}

// --- fixture: lab, connections, policy, playbooks, token ---

type chaosFixture struct {
	lab       *lab.Lab
	playbooks string
	config    string
	policy    string
	token     string
	secrets   []string // NAME=value of the lab credentials
	// tokensFile holds personal tokens, personal maps user -> token.
	tokensFile string
	personal   map[string]string
}

// newChaosFixture starts the vendor lab in this process and writes a
// riposte.yaml pointing at it, its credentials as {env: RIPOSTE_LAB_…}.
func newChaosFixture(t *testing.T, dir string) *chaosFixture {
	t.Helper()
	l, err := lab.Start(lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	fx := &chaosFixture{lab: l}
	fx.playbooks, _ = filepath.Abs("testdata/chaos")
	b := harness.LabConnections(t, l, func(name, value string) map[string]string {
		env := "RIPOSTE_LAB_" + strings.ToUpper(name)
		fx.secrets = append(fx.secrets, env+"="+value)
		return map[string]string{"env": env}
	})
	sort.Strings(fx.secrets)
	fx.config = filepath.Join(dir, "riposte.yaml")
	// A budget far above the load: every automatic block reserves a slot
	// in the guard workflow, which must survive the kills too.
	fx.policy = filepath.Join(dir, "policy.yaml")
	pol := []byte("budgets:\n  - {action: panos.block_ip, max: 100000, per: 24h}\n")
	if !*chaosBudget {
		pol = nil // an empty policy file: no budget
	}
	for path, data := range map[string][]byte{fx.config: b, fx.policy: pol} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tok := make([]byte, 24)
	_, _ = rand.Read(tok)
	fx.token = "chaos-" + base64.RawURLEncoding.EncodeToString(tok)
	// Votes are cast with each person's own token (the shared token
	// decides as nobody).
	fx.tokensFile = filepath.Join(dir, "tokens.json")
	fx.personal = map[string]string{}
	store := auth.NewStore(fx.tokensFile)
	for _, u := range []string{chaosApprover, chaosNonApprover} {
		pt, _, err := store.Create(u, []string{auth.ScopeApprove, auth.ScopeRead}, "chaos", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		fx.personal[u] = pt
	}
	return fx
}

// env is the children's environment: this process's, minus anything that
// configures Riposte, Temporal or Slack, plus the token, the lab secrets
// and extra.
func (fx *chaosFixture) env(extra []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "RIPOSTE_") || strings.HasPrefix(name, "TEMPORAL_") || strings.HasPrefix(name, "SLACK_") {
			continue
		}
		out = append(out, kv)
	}
	out = append(out, "RIPOSTE_API_TOKEN="+fx.token, "RIPOSTE_LOG_FORMAT=text", "RIPOSTE_TOKENS_FILE="+fx.tokensFile)
	out = append(out, fx.secrets...)
	return append(out, extra...)
}

// --- child processes ---

// chaosProc is a child process that is started, SIGKILLed and restarted
// (harness.Process: its own process group, output over all incarnations),
// its output also written to a log in the test's artifact directory.
type chaosProc struct {
	*harness.Process
	t         *testing.T
	name      string
	logPath   string
	log       *os.File
	killed    bool
	startedAt time.Time
	outStart  int // output length when the current incarnation started
}

func newChaosProc(t *testing.T, name, bin, dir string, env []string, args ...string) *chaosProc {
	t.Helper()
	logPath := filepath.Join(t.ArtifactDir(), name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	p := &chaosProc{t: t, name: name, logPath: logPath, log: f,
		Process: &harness.Process{Name: name, Path: bin, Dir: dir, Env: env, Args: args, Log: f}}
	// Runs even when the test fails or stops early: no orphans.
	t.Cleanup(func() {
		p.kill("cleanup")
		_ = f.Close()
	})
	return p
}

func (p *chaosProc) start() {
	p.t.Helper()
	p.outStart = p.OutputLen()
	if err := p.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.killed, p.startedAt = false, time.Now()
}

// kill SIGKILLs the process group and waits for the process to be gone.
func (p *chaosProc) kill(why string) {
	if p.killed || p.Starts() == 0 {
		return
	}
	p.Kill()
	p.killed = true
	fmt.Fprintf(p.log, "\n=== chaos: SIGKILL (%s) at %s, %s after start\n", why, time.Now().Format(time.RFC3339Nano), time.Since(p.startedAt).Round(time.Millisecond))
}

// exited reports whether the current incarnation ended on its own.
func (p *chaosProc) exited() bool {
	return !p.killed && p.Starts() > 0 && !p.Running()
}

// waitLog waits until the current incarnation has logged marker.
func (p *chaosProc) waitLog(ctx context.Context, marker string) error {
	for {
		if out := p.Output(); len(out) > p.outStart && strings.Contains(out[p.outStart:], marker) {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited", p.name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tail returns the end of the output, for failure messages.
func (p *chaosProc) tail(lines int) string {
	return fmt.Sprintf("--- last %d lines of %s (all in %s) ---\n%s", lines, p.name, p.logPath, p.Tail(lines))
}

// --- API client ---

type chaosClient struct {
	base  string
	token string
	hc    *http.Client
}

// do sends one request; err is a transport error (the server is down).
func (c *chaosClient) do(ctx context.Context, method, path, body string) (int, []byte, error) {
	return c.doAs(ctx, method, path, body, c.token)
}

// doAs is do with another token (a person's own, for votes).
func (c *chaosClient) doAs(ctx context.Context, method, path, body, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}

func (c *chaosClient) waitHealthy(ctx context.Context, p *chaosProc) error {
	for {
		hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		code, _, err := c.do(hctx, "GET", "/healthz", "")
		cancel()
		if err == nil && code == http.StatusOK {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited before answering /healthz", p.name)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no healthy answer: %w (last: %d %v)", ctx.Err(), code, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// --- the chaos run ---

type chaosRun struct {
	rng       *mrand.Rand
	kills     int
	victim    *chaosProc
	ready     func(context.Context) error
	client    *chaosClient
	lab       *lab.Lab
	ipOctet   int               // second octet of the detections' IPs (100.N.x.y)
	uidPrefix string            // detection uid prefix
	check     func()            // extra liveness check after each kill
	temporal  string            // Temporal frontend host:port, for diagnostics
	personal  map[string]string // user -> personal token, for votes
}

// chaosDet is one detection of the load and what became of it.
type chaosDet struct {
	uid   string
	ip    string
	gated bool
	pause string

	acked  bool
	wid    string
	runIDs map[string]int // run id answered by each 2xx
	posts  int            // POST attempts until acknowledged

	// approvals (gated only)
	intruderDone bool      // the intruder's vote was refused (or the probe settled)
	confirmed    bool      // the approver's vote is recorded (200, or 409 already voted/closed)
	closed       bool      // the run finished before the API confirmed a vote
	inFlight     bool      // an approval request is under way
	nextTry      time.Time // earliest next approval attempt
}

// chaosState is shared by the load, the approver and the checks.
type chaosState struct {
	t   *testing.T
	cfg chaosRun
	mu  sync.Mutex
	rng *mrand.Rand // load randomness (the kill loop has its own)

	dets     []*chaosDet
	perPB    map[string]int
	counters map[string]int
	samples  map[string]string // first answer per counter
	failures map[string]int    // failed checks per kind
	intruder []string          // gated runs whose gate took a non-approver's vote
	problems []string          // unexpected answers, reported at the end
}

func (s *chaosState) count(k string, n int) {
	s.mu.Lock()
	s.counters[k] += n
	s.mu.Unlock()
}

// errorf reports a failed check; after five of one kind it only counts.
func (s *chaosState) errorf(kind, format string, args ...any) {
	s.t.Helper()
	s.mu.Lock()
	n := s.failures[kind]
	s.failures[kind]++
	s.mu.Unlock()
	if n < 5 {
		s.t.Errorf(format, args...)
	}
}

// sample keeps the first answer counted under k, for the summary.
func (s *chaosState) sample(k, body string) {
	s.mu.Lock()
	if _, ok := s.samples[k]; !ok {
		s.samples[k] = strings.Join(strings.Fields(body), " ")
	}
	s.mu.Unlock()
}

func (s *chaosState) problem(format string, args ...any) {
	s.mu.Lock()
	if len(s.problems) < 50 {
		s.problems = append(s.problems, fmt.Sprintf(format, args...))
	}
	s.mu.Unlock()
}

// newBatch makes 1 to 3 fresh detections; nil once the load is complete.
func (s *chaosState) newBatch() []*chaosDet {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 1 + s.rng.IntN(3)
	var out []*chaosDet
	for range n {
		gated := s.rng.IntN(4) == 0
		pb := chaosContain
		if gated {
			pb = chaosGated
		}
		if s.perPB[pb] >= chaosMaxPerPlaybook {
			continue
		}
		s.perPB[pb]++
		i := len(s.dets) + 1
		d := &chaosDet{
			uid:   fmt.Sprintf("%s-%05d", s.cfg.uidPrefix, i),
			ip:    fmt.Sprintf("100.%d.%d.%d", s.cfg.ipOctet, i/256, i%256),
			gated: gated, pause: fmt.Sprintf("%dms", 200+s.rng.IntN(800)),
			runIDs: map[string]int{},
		}
		s.dets = append(s.dets, d)
		out = append(out, d)
	}
	return out
}

func (d *chaosDet) playbook() string {
	if d.gated {
		return chaosGated
	}
	return chaosContain
}

func (d *chaosDet) json() string {
	kind := "contain"
	if d.gated {
		kind = "gated"
	}
	return fmt.Sprintf(`{"class_uid":2004,"time":1763458937000,"severity_id":4,"confidence_score":95,`+
		`"finding_info":{"uid":%q,"title":"chaos load"},"metadata":{"product":{"name":%q}},`+
		`"dst_endpoint":{"ip":%q},"unmapped":{"chaos":%q,"pause":%q}}`, d.uid, chaosProduct, d.ip, kind, d.pause)
}

// submit posts a batch until a 2xx acknowledges it (or ctx ends): a kill
// in the middle of a request is answered by sending the same detections
// again, which must find the runs already started.
func (s *chaosState) submit(ctx context.Context, batch []*chaosDet) {
	parts := make([]string, len(batch))
	for i, d := range batch {
		parts[i] = d.json()
	}
	body := parts[0]
	if len(parts) > 1 {
		body = "[" + strings.Join(parts, ",") + "]"
	}
	for ctx.Err() == nil {
		s.mu.Lock()
		for _, d := range batch {
			d.posts++
		}
		s.mu.Unlock()
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		code, b, err := s.cfg.client.do(rctx, "POST", "/v1/detections", body)
		cancel()
		switch {
		case err != nil:
			s.count("submit: transport error", 1)
		case code == http.StatusOK || code == http.StatusAccepted:
			s.acknowledge(batch, b)
			return
		case code >= 500 || code == http.StatusTooManyRequests:
			s.count(fmt.Sprintf("submit: HTTP %d", code), 1)
			s.sample(fmt.Sprintf("submit: HTTP %d", code), string(b))
		default:
			s.problem("POST /v1/detections: %d %s", code, b)
			return
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
}

func (s *chaosState) acknowledge(batch []*chaosDet, body []byte) {
	var r api.DetectionsResponse
	if err := json.Unmarshal(body, &r); err != nil {
		s.problem("decoding a 2xx answer to POST /v1/detections: %v: %s", err, body)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(r.Detections) != len(batch) {
		s.problems = append(s.problems, fmt.Sprintf("sent %d detections, the answer lists %d: %s", len(batch), len(r.Detections), body))
		return
	}
	s.counters["submit: acknowledged"]++
	for _, o := range r.Detections {
		if o.Index < 0 || o.Index >= len(batch) {
			s.problems = append(s.problems, fmt.Sprintf("answer index %d out of range: %s", o.Index, body))
			continue
		}
		d := batch[o.Index]
		if o.DetectionID != d.uid || len(o.Matched) != 1 || o.Matched[0].Playbook != d.playbook() || o.Matched[0].WorkflowID == "" || o.Matched[0].RunID == "" {
			s.problems = append(s.problems, fmt.Sprintf("detection %s: unexpected outcome %+v", d.uid, o))
			continue
		}
		m := o.Matched[0]
		if d.wid != "" && d.wid != m.WorkflowID {
			s.problems = append(s.problems, fmt.Sprintf("detection %s: workflow id changed from %s to %s", d.uid, d.wid, m.WorkflowID))
		}
		d.acked, d.wid = true, m.WorkflowID
		d.runIDs[m.RunID]++
		if m.Deduplicated {
			s.counters["submit: deduplicated answers"]++
		}
	}
}

// approveLoop votes on every gated run until stop: first as a
// non-approver (which must be refused), then as the approver, retrying
// through kills until the vote is known to be recorded.
func (s *chaosState) approveLoop(ctx context.Context, stop <-chan struct{}) {
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, 6)
	for {
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		now := time.Now()
		s.mu.Lock()
		var todo []*chaosDet
		for _, d := range s.dets {
			if d.gated && d.acked && !d.confirmed && !d.closed && !d.inFlight && now.After(d.nextTry) {
				d.inFlight = true
				todo = append(todo, d)
			}
		}
		s.mu.Unlock()
		for _, d := range todo {
			select {
			case sem <- struct{}{}:
			case <-stop:
				s.mu.Lock()
				d.inFlight = false
				s.mu.Unlock()
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				s.approveOnce(ctx, d)
			}()
		}
	}
}

var (
	chaosNotOpenRe  = regexp.MustCompile(`has no gate|none is open|still being opened`)
	chaosSettledRe  = regexp.MustCompile(`already voted|is closed`)
	chaosNotVoterRe = regexp.MustCompile(`is not an approver`)
	// A vote on a run that ended: 409 (the run exists, its gates closed).
	chaosEndedRe = regexp.MustCompile(`has ended`)
)

func (s *chaosState) vote(ctx context.Context, d *chaosDet, user string) (int, string, error) {
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	body := fmt.Sprintf(`{"step":"block","decision":"approve","user":%q,"reason":"chaos"}`, user)
	code, b, err := s.cfg.client.doAs(rctx, "POST", "/v1/runs/"+url.PathEscape(d.wid)+"/approvals", body, s.cfg.personal[user])
	return code, string(b), err
}

// runClosed reports whether the run has finished. The approvals endpoint
// answers 404 "Run not found" for a finished run (Temporal's "workflow
// execution already completed" is a NotFound), so a 404 is checked here.
func (s *chaosState) runClosed(ctx context.Context, d *chaosDet) bool {
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	code, b, err := s.cfg.client.do(rctx, "GET", "/v1/runs/"+url.PathEscape(d.wid), "")
	var rd api.RunDetail
	return err == nil && code == http.StatusOK && json.Unmarshal(b, &rd) == nil && rd.ClosedAt != nil
}

// finished stops voting on a run that ended (answer says how the API
// told).
func (s *chaosState) finished(d *chaosDet, answer string) {
	s.count("approve: "+answer+" on a finished run", 1)
	s.mu.Lock()
	d.closed, d.inFlight = true, false
	s.mu.Unlock()
}

func (s *chaosState) approveOnce(ctx context.Context, d *chaosDet) {
	retry := func(k string) {
		s.count(k, 1)
		s.mu.Lock()
		d.inFlight, d.nextTry = false, time.Now().Add(300*time.Millisecond)
		s.mu.Unlock()
	}
	if !d.intruderDone && *chaosProbe {
		code, b, err := s.vote(ctx, d, chaosNonApprover)
		switch {
		case err != nil:
			retry("approve: transport error")
			return
		case code == http.StatusConflict && chaosNotVoterRe.MatchString(b):
			s.count("intruder: refused", 1)
		case code == http.StatusConflict && chaosNotOpenRe.MatchString(b):
			retry("approve: gate not open yet")
			return
		case code == http.StatusOK:
			// A vote from someone who is not an approver was recorded.
			s.count("intruder: ACCEPTED", 1)
			s.mu.Lock()
			s.intruder = append(s.intruder, fmt.Sprintf("%s: %s", d.wid, b))
			s.mu.Unlock()
		case code == http.StatusAccepted:
			// Queued as a signal: the workflow checks it later; the gate's
			// final decision tells.
			s.count("intruder: queued", 1)
		case code == http.StatusConflict && chaosSettledRe.MatchString(b):
			s.count("intruder: gate already closed", 1)
		case code == http.StatusNotFound && s.runClosed(ctx, d):
			s.finished(d, "404")
			return
		case code == http.StatusConflict && chaosEndedRe.MatchString(b) && s.runClosed(ctx, d):
			// The approver's earlier vote, queued (202), was taken and
			// the run finished; the checks at the end tell.
			s.finished(d, "409 ended")
			return
		case code >= 500 || code == http.StatusNotFound:
			s.sample(fmt.Sprintf("approve: HTTP %d", code), b)
			retry(fmt.Sprintf("approve: HTTP %d", code))
			return
		default:
			s.problem("intruder vote on %s: %d %s", d.wid, code, b)
		}
		s.mu.Lock()
		d.intruderDone = true
		s.mu.Unlock()
	}
	code, b, err := s.vote(ctx, d, chaosApprover)
	switch {
	case err != nil:
		retry("approve: transport error")
		return
	case code == http.StatusOK:
		s.count("approve: 200", 1)
		s.mu.Lock()
		d.confirmed, d.inFlight = true, false
		s.mu.Unlock()
	case code == http.StatusConflict && chaosSettledRe.MatchString(b):
		// A vote sent before a kill (or queued) was recorded after all.
		s.count("approve: 409 already recorded", 1)
		s.mu.Lock()
		d.confirmed, d.inFlight = true, false
		s.mu.Unlock()
	case code == http.StatusAccepted:
		// Queued while no worker answered: keep voting until the run says
		// it has the vote (409 already voted) or takes it (200).
		retry("approve: 202 queued")
	case code == http.StatusConflict && chaosNotOpenRe.MatchString(b):
		retry("approve: gate not open yet")
	case code == http.StatusNotFound && s.runClosed(ctx, d):
		s.finished(d, "404")
	case code == http.StatusConflict && chaosEndedRe.MatchString(b) && s.runClosed(ctx, d):
		// A vote queued (202) earlier was taken and the run finished;
		// the checks at the end tell whether it counted.
		s.finished(d, "409 ended")
	case code >= 500 || code == http.StatusNotFound:
		s.sample(fmt.Sprintf("approve: HTTP %d", code), b)
		retry(fmt.Sprintf("approve: HTTP %d", code))
	default:
		s.problem("approval of %s: %d %s", d.wid, code, b)
		retry("approve: unexpected")
	}
}

// runChaos drives one variant: load, kills, drain, checks.
func runChaos(t *testing.T, cfg chaosRun) {
	began := time.Now()
	s := &chaosState{t: t, cfg: cfg, rng: mrand.New(mrand.NewPCG(cfg.rng.Uint64(), 1)), perPB: map[string]int{}, counters: map[string]int{}, samples: map[string]string{}, failures: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Load: one submitter, about three detections a second.
	stopLoad, stopApprove := make(chan struct{}), make(chan struct{})
	var loadWG, approveWG sync.WaitGroup
	loadWG.Add(1)
	go func() {
		defer loadWG.Done()
		for {
			select {
			case <-stopLoad:
				return
			default:
			}
			batch := s.newBatch()
			if len(batch) > 0 {
				s.submit(ctx, batch)
			}
			s.mu.Lock()
			pause := time.Duration(400+s.rng.IntN(600)) * time.Millisecond
			s.mu.Unlock()
			select {
			case <-stopLoad:
				return
			case <-time.After(pause):
			}
		}
	}()
	approveWG.Add(1)
	go func() {
		defer approveWG.Done()
		s.approveLoop(ctx, stopApprove)
	}()
	stopAll := func() {
		select {
		case <-stopLoad:
		default:
			close(stopLoad)
		}
		select {
		case <-stopApprove:
		default:
			close(stopApprove)
		}
		cancel()
		loadWG.Wait()
		approveWG.Wait()
	}
	defer stopAll()

	// Kills: most after the victim is up and has worked a while, some
	// during its start-up (a crash while recovering from a crash).
	var killTimes []time.Time
	early := 0
	for i := range cfg.kills {
		var wait time.Duration
		isEarly := i > 0 && cfg.rng.IntN(5) == 0
		if isEarly {
			wait = time.Duration(100+cfg.rng.IntN(1400)) * time.Millisecond
			time.Sleep(time.Until(cfg.victim.startedAt.Add(wait)))
			early++
		} else {
			rctx, rcancel := context.WithTimeout(ctx, time.Minute)
			err := cfg.ready(rctx)
			rcancel()
			if err != nil {
				t.Fatalf("kill %d: %s not ready after restart: %v\n%s", i+1, cfg.victim.name, err, cfg.victim.tail(60))
			}
			wait = time.Duration(1500+cfg.rng.IntN(3000)) * time.Millisecond
			time.Sleep(wait)
		}
		if cfg.victim.exited() {
			t.Fatalf("%s exited on its own before kill %d\n%s", cfg.victim.name, i+1, cfg.victim.tail(60))
		}
		cfg.victim.kill(fmt.Sprintf("kill %d/%d", i+1, cfg.kills))
		killTimes = append(killTimes, time.Now())
		if cfg.check != nil {
			cfg.check()
		}
		// Down for a moment, as a supervisor would leave it.
		time.Sleep(time.Duration(cfg.rng.IntN(500)) * time.Millisecond)
		cfg.victim.start()
	}
	rctx, rcancel := context.WithTimeout(ctx, time.Minute)
	if err := cfg.ready(rctx); err != nil {
		rcancel()
		t.Fatalf("%s not ready after the last restart: %v\n%s", cfg.victim.name, err, cfg.victim.tail(60))
	}
	rcancel()
	chaosEnd := time.Now()

	// Drain: no new detections (the submitter finishes its batch), then
	// wait for every run to close while approvals keep going.
	close(stopLoad)
	loadWG.Wait()
	s.mu.Lock()
	dets := append([]*chaosDet(nil), s.dets...)
	s.mu.Unlock()
	lists, err := s.waitClosed(ctx, dets, 3*time.Minute)
	drained := time.Now()
	close(stopApprove)
	approveWG.Wait()
	if err != nil {
		t.Errorf("drain: %v", err)
	}

	s.verify(ctx, dets, lists, killTimes)
	if cfg.victim.exited() {
		t.Errorf("%s exited on its own after the chaos\n%s", cfg.victim.name, cfg.victim.tail(60))
	}

	var keys []string
	for k := range s.counters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var cs []string
	for _, k := range keys {
		cs = append(cs, fmt.Sprintf("%s=%d", k, s.counters[k]))
	}
	t.Logf("chaos %s: %d kills (%d during start-up) from %s to %s; drained in %s; total %s",
		cfg.victim.name, len(killTimes), early, began.Format("15:04:05"), chaosEnd.Format("15:04:05"), drained.Sub(chaosEnd).Round(time.Second), time.Since(began).Round(time.Second))
	t.Logf("chaos %s: counters: %s", cfg.victim.name, strings.Join(cs, " "))
	for _, k := range harness.SortedKeys(s.samples) {
		t.Logf("chaos %s: first %q answer: %.300s", cfg.victim.name, k, s.samples[k])
	}
	for _, p := range s.problems {
		t.Errorf("unexpected answer: %s", p)
	}
	if t.Failed() {
		t.Logf("%s", cfg.victim.tail(80))
		t.Logf("chaos %s: guard workflow: %s", cfg.victim.name, chaosGuardDiag(cfg.temporal))
	}
}

// waitWorkersAt waits until the server lists workers polling taskQueue
// and every one announces revision rev (what riposte serve reads to pick
// a run's revision: engine.WorkersByReference).
func waitWorkersAt(ctx context.Context, t *testing.T, addr, taskQueue string, rev int) {
	t.Helper()
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: "default", Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for {
		w := &engine.WorkersByReference{Client: c, TaskQueue: taskQueue}
		if w.Rev(ctx) >= rev {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the server never listed a worker at revision %d on %s", rev, taskQueue)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// chaosTicketActivities counts the runs among wids whose history
// schedules jira.create_issue as an activity task. Activity types are not
// payloads: no codec key is needed.
func chaosTicketActivities(addr string, wids []string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: "default", Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	n := 0
	for _, wid := range wids {
		it := c.GetWorkflowHistory(ctx, wid, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return n, fmt.Errorf("%s: %w", wid, err)
			}
			if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "jira.create_issue" {
				n++
				break
			}
		}
	}
	return n, nil
}

// chaosGuardDiag describes the guard workflow (budgets, safe mode) straight
// from Temporal: its history and any stuck workflow task. No payload is
// decoded, so no codec key is needed.
func chaosGuardDiag(addr string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: "default", Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	desc, err := c.DescribeWorkflowExecution(ctx, workflows.GuardWorkflowID, "")
	if err != nil {
		return err.Error()
	}
	info := desc.GetWorkflowExecutionInfo()
	out := fmt.Sprintf("status %s, %d events", info.GetStatus(), info.GetHistoryLength())
	if pw := desc.GetPendingWorkflowTask(); pw != nil {
		out += fmt.Sprintf(", pending workflow task %s attempt %d scheduled %s ago", pw.GetState(), pw.GetAttempt(), time.Since(pw.GetScheduledTime().AsTime()).Round(time.Second))
	}
	types := map[string]int{}
	var last []string
	it := c.GetWorkflowHistory(ctx, workflows.GuardWorkflowID, info.GetExecution().GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return out + "; history: " + err.Error()
		}
		name := strings.TrimPrefix(e.GetEventType().String(), "EVENT_TYPE_")
		types[name]++
		last = append(last, fmt.Sprintf("%s %s", e.GetEventTime().AsTime().Format("15:04:05.000"), name))
		if len(last) > 12 {
			last = last[1:]
		}
	}
	var ts []string
	for _, k := range harness.SortedKeys(types) {
		ts = append(ts, fmt.Sprintf("%s=%d", k, types[k]))
	}
	return fmt.Sprintf("%s; events: %s; last: %s", out, strings.Join(ts, " "), strings.Join(last, ", "))
}

// waitClosed polls GET /v1/runs until every acknowledged detection's run
// has closed; it returns the last listing of each playbook.
func (s *chaosState) waitClosed(ctx context.Context, dets []*chaosDet, limit time.Duration) (map[string][]api.RunSummary, error) {
	deadline := time.Now().Add(limit)
	for {
		lists := map[string][]api.RunSummary{}
		ok := true
		for _, pb := range []string{chaosContain, chaosGated} {
			rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			code, b, err := s.cfg.client.do(rctx, "GET", "/v1/runs?limit=1000&playbook="+pb, "")
			cancel()
			var r struct{ Runs []api.RunSummary }
			if err != nil || code != http.StatusOK || json.Unmarshal(b, &r) != nil {
				ok = false
				break
			}
			lists[pb] = r.Runs
		}
		open := 0
		if ok {
			closed := map[string]bool{}
			for _, l := range lists {
				for _, r := range l {
					if r.ClosedAt != nil {
						closed[r.WorkflowID] = true
					}
				}
			}
			for _, d := range dets {
				if d.acked && !closed[d.wid] {
					open++
				}
			}
			if open == 0 {
				return lists, nil
			}
		}
		if time.Now().After(deadline) {
			return lists, fmt.Errorf("%d runs still open after %s (listing ok: %v)", open, limit, ok)
		}
		sleepCtx(ctx, 500*time.Millisecond)
	}
}

// verify runs the end checks.
func (s *chaosState) verify(ctx context.Context, dets []*chaosDet, lists map[string][]api.RunSummary, kills []time.Time) {
	t := s.t
	// Every acknowledged detection has exactly one run, the one answered.
	byWID := map[string][]api.RunSummary{}
	for _, l := range lists {
		for _, r := range l {
			byWID[r.WorkflowID] = append(byWID[r.WorkflowID], r)
		}
	}
	acked, gated, unacked := 0, 0, 0
	for _, d := range dets {
		if !d.acked {
			unacked++
			continue
		}
		acked++
		if d.gated {
			gated++
		}
		runs := byWID[d.wid]
		if len(runs) != 1 {
			s.errorf("runs per detection", "detection %s: %d runs of %s, want exactly 1: %+v", d.uid, len(runs), d.wid, runs)
			continue
		}
		if len(d.runIDs) != 1 {
			s.errorf("run ids", "detection %s: the API answered %d different run ids: %v", d.uid, len(d.runIDs), d.runIDs)
		}
		if _, ok := d.runIDs[runs[0].RunID]; !ok {
			s.errorf("run ids", "detection %s: listed run %s is not the one acknowledged (%v)", d.uid, runs[0].RunID, d.runIDs)
		}
		if runs[0].Status != workflows.RunSucceeded {
			s.errorf("run status", "detection %s: run %s is %s (temporal %s), want succeeded", d.uid, d.wid, runs[0].Status, runs[0].Temporal)
		}
	}
	if unacked > 0 {
		t.Errorf("%d detections were never acknowledged", unacked)
	}
	listed := 0
	for _, l := range lists {
		listed += len(l)
	}
	if listed != acked {
		t.Errorf("GET /v1/runs lists %d runs for %d acknowledged detections", listed, acked)
	}
	if acked == 0 {
		t.Fatal("no detection was acknowledged: the load never ran")
	}

	// Each run: every step succeeded; gates hold the approver's one vote.
	spanned := map[string]int{}
	already := map[string]int{}
	var spanDur, runDur []time.Duration
	var slow []string
	var ticketWIDs []string
	for _, l := range lists {
		for _, r := range l {
			if r.ClosedAt != nil {
				runDur = append(runDur, r.ClosedAt.Sub(r.StartedAt))
			}
		}
	}
	for _, d := range dets {
		if !d.acked {
			continue
		}
		var rd api.RunDetail
		var lastErr string
		for range 20 {
			rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			code, b, err := s.cfg.client.do(rctx, "GET", "/v1/runs/"+url.PathEscape(d.wid), "")
			cancel()
			if err == nil && code == http.StatusOK && json.Unmarshal(b, &rd) == nil {
				lastErr = ""
				break
			}
			lastErr = fmt.Sprintf("%d %v %.200s", code, err, b)
			sleepCtx(ctx, 250*time.Millisecond)
		}
		if lastErr != "" {
			s.errorf("run detail", "run %s: cannot read: %s", d.wid, lastErr)
			continue
		}
		ticketWIDs = append(ticketWIDs, d.wid)
		want := []string{"triage", "block", "settle", "ticket"}
		if d.gated {
			want = []string{"triage", "block", "ticket"}
		}
		var got []string
		for _, st := range rd.Steps {
			got = append(got, st.ID)
			if st.Status != "succeeded" {
				why := ""
				if g := st.Guardrail; g != nil {
					why = fmt.Sprintf(" (guardrail %s: %s)", g.Rule, g.Why)
				}
				if g := st.Gate; g != nil {
					why += fmt.Sprintf(" (gate opened %s)", g.OpenedAt.Format("15:04:05.000"))
				}
				s.errorf("step status", "run %s: step %s is %s: %s%s%s", d.wid, st.ID, st.Status, st.Error, st.Reason, why)
			}
			if st.StartedAt != nil && st.EndedAt != nil {
				for _, k := range kills {
					if k.After(*st.StartedAt) && k.Before(*st.EndedAt) {
						spanned[st.ID]++
						// A gated step's time includes the wait for the
						// approver: only the others measure recovery.
						if st.Gate == nil {
							dur := st.EndedAt.Sub(*st.StartedAt)
							spanDur = append(spanDur, dur)
							slow = append(slow, fmt.Sprintf("%s %s/%s", dur.Round(10*time.Millisecond), d.wid, st.ID))
						}
						break
					}
				}
			}
			if out, ok := st.Output.(map[string]any); ok && out["already"] == true {
				already[st.ID]++
			}
			if st.ID == "block" && d.gated {
				g := st.Gate
				switch {
				case g == nil:
					s.errorf("gates", "run %s: gated step has no gate", d.wid)
				case g.State != workflows.GateApproved || g.Decision == nil || g.Decision.User != chaosApprover:
					s.errorf("gates", "run %s: gate %s decided by %+v, want approved by %s (votes %+v)", d.wid, g.State, g.Decision, chaosApprover, g.Votes)
				case len(g.Votes) != 1:
					s.errorf("gates", "run %s: gate holds %d votes, want the approver's one: %+v", d.wid, len(g.Votes), g.Votes)
				}
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			s.errorf("step list", "run %s: steps %v, want %v", d.wid, got, want)
		}
		if d.gated && !d.confirmed {
			// Queued (202) votes, then the run finished: the gate check
			// above tells whether the vote counted.
			s.count("approve: never confirmed (queued, then the run finished)", 1)
		}
	}

	// Every ticket ran as a local step (revision 3, announced by the
	// worker): no run scheduled jira.create_issue as an activity task, so
	// the kills above landed on local tickets and each still opened one.
	if n, err := chaosTicketActivities(s.cfg.temporal, ticketWIDs); err != nil {
		t.Errorf("reading run histories: %v", err)
	} else if n > 0 {
		s.errorf("execution model", "%d of %d runs ran jira.create_issue as an activity task, want a local step (revision %d)", n, len(ticketWIDs), workflows.LatestRev)
	} else {
		s.count("tickets as local steps (runs)", len(ticketWIDs))
	}

	// The vendors: each IP blocked exactly once, each step's idempotency
	// key changed state at most once, each run opened one ticket.
	calls := s.cfg.lab.Calls()
	changedByKey := map[string][]lab.Call{}
	sentByKey := map[string]int{}
	for _, c := range calls {
		if c.IdempotencyKey == "" {
			s.errorf("lab keys", "lab call without an idempotency key: %+v", c)
			continue
		}
		sentByKey[c.IdempotencyKey]++
		if c.Changed {
			changedByKey[c.IdempotencyKey] = append(changedByKey[c.IdempotencyKey], c)
		}
	}
	for k, cs := range changedByKey {
		if len(cs) > 1 {
			s.errorf("double changes", "step %s changed vendor state %d times: %+v", k, len(cs), cs)
		}
	}
	repeats := 0
	for _, n := range sentByKey {
		if n > 1 {
			repeats += n - 1
		}
	}
	for _, d := range dets {
		if !d.acked {
			continue
		}
		if n := s.cfg.lab.Changes(lab.PANOS, "register", d.ip); n != 1 {
			s.errorf("blocks per IP", "detection %s: IP %s was blocked %d times, want exactly 1: %+v", d.uid, d.ip, n, s.cfg.lab.CallsFor(lab.PANOS, "", d.ip))
		}
		if cs := changedByKey[d.wid+"/block"]; len(cs) != 1 || cs[0].Target != d.ip {
			s.errorf("block changes", "run %s: block step changed state %d times: %+v", d.wid, len(cs), cs)
		}
		if cs := changedByKey[d.wid+"/ticket"]; len(cs) != 1 || cs[0].Op != "create_issue" {
			s.errorf("tickets", "run %s: ticket step created %d issues: %+v", d.wid, len(cs), cs)
		}
	}
	st := s.cfg.lab.State()
	if len(st.BlockedIPs) != acked || len(st.Tickets) != acked {
		t.Errorf("lab holds %d blocked IPs and %d tickets for %d runs", len(st.BlockedIPs), len(st.Tickets), acked)
	}

	// The guard workflow took one budget slot per automatic block.
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	code, b, err := s.cfg.client.do(rctx, "GET", "/v1/policy", "")
	cancel()
	var guard workflows.GuardState
	if err != nil || code != http.StatusOK || json.Unmarshal(b, &guard) != nil {
		t.Errorf("GET /v1/policy: %d %v %s", code, err, b)
	} else {
		// A slot's key is the run's workflow id and step, then "@" and the
		// run id (activities.runKey): one run, one slot.
		slots := map[string]int{}
		for _, r := range guard.Budgets["panos.block_ip"] {
			key, _, _ := strings.Cut(r.Key, "@")
			slots[key]++
		}
		for _, d := range dets {
			if *chaosBudget && d.acked && !d.gated && slots[d.wid+"/block"] != 1 {
				s.errorf("budget", "run %s: %d budget reservations for its block, want 1", d.wid, slots[d.wid+"/block"])
			}
		}
		for k, n := range slots {
			if n > 1 {
				s.errorf("budget", "budget reservation %s held %d times", k, n)
			}
		}
		s.count("budget: reservations", len(guard.Budgets["panos.block_ip"]))
	}

	for _, k := range harness.SortedKeys(s.failures) {
		if n := s.failures[k]; n > 5 {
			t.Errorf("%s: %d more failures like the above (%d in all)", k, n-5, n)
		}
	}
	if len(s.intruder) > 0 {
		t.Errorf("%d gates took a vote from %s, who is not an approver (first: %s)", len(s.intruder), chaosNonApprover, s.intruder[0])
	}

	s.count("runs: acknowledged", acked)
	s.count("runs: gated", gated)
	s.count("lab: state-changing calls", len(calls))
	s.count("lab: repeated calls with one key (no change)", repeats)
	for k, n := range spanned {
		s.count("steps spanning a kill: "+k, n)
	}
	for k, n := range already {
		s.count("steps finding their change already made: "+k, n)
	}
	posts := 0
	for _, d := range dets {
		if d.posts > 1 {
			posts++
		}
	}
	s.count("submit: detections sent more than once", posts)
	t.Logf("chaos %s: run durations %s; ungated steps spanning a kill (%d) took %s", s.cfg.victim.name, durStats(runDur), len(spanDur), durStats(spanDur))
	sort.Slice(slow, func(i, j int) bool {
		a, _ := time.ParseDuration(strings.Fields(slow[i])[0])
		b, _ := time.ParseDuration(strings.Fields(slow[j])[0])
		return a > b
	})
	if len(slow) > 3 {
		slow = slow[:3]
	}
	t.Logf("chaos %s: slowest: %s", s.cfg.victim.name, strings.Join(slow, "; "))
}

// durStats summarises durations: median, 90th percentile and maximum.
func durStats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "(none)"
	}
	ds = append([]time.Duration(nil), ds...)
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }
	return fmt.Sprintf("median %s, p90 %s, max %s", r(ds[len(ds)/2]), r(ds[len(ds)*9/10]), r(ds[len(ds)-1]))
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
