package cluster_test

// The production topology on a real Temporal cluster on PostgreSQL
// (package cluster): PostgreSQL 15, the Temporal server built from go.mod,
// `riposte serve` and two `riposte worker` processes configured like
// docker-compose.yml. One cluster serves TestCluster's subtests, in order;
// TestClusterGuardrailBudget starts its own with a small budget.
//
//	go test ./test/cluster -v                 # about 3 minutes after the one-time server build
//	RIPOSTE_CLUSTER_KEEP=1 go test ./test/cluster -run TestCluster/examples -v   # keep logs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/test/cluster"
	"github.com/riposte-dev/riposte/test/harness"
	"github.com/riposte-dev/riposte/workflows"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		// The binaries are built before m.Run, outside the test timeout
		// (go test's default 10m): a cold Temporal server build alone takes
		// minutes on 2 cores, and the tests' own time is what -timeout
		// should measure.
		if err := prebuild(); err != nil {
			fmt.Fprintln(os.Stderr, "cluster tests:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	harness.RemoveBinaries()
	if previousDir != "" {
		// 230 MB a run: kept, they filled /tmp.
		_ = os.RemoveAll(previousDir)
	}
	os.Exit(code)
}

const (
	slackSecret = "e2b6c0d1f4a3958877665544332211aa"
	slackChan   = "CSECOPS"
	clusterLead = "UCLUSTERLEAD"
)

// testPolicy is the shipped policy's shape with a budget far above the
// load: TestClusterGuardrailBudget tests budgets on a cluster of its own.
const testPolicy = `protected:
  hosts: ["*-prod-*", "dc-*"]
  tags: ["crown-jewel"]
  action: gate
confidence_floor: 80
budgets:
  - {action: "*", max: 100000, per: 1h}
`

// det is one synthetic OCSF Detection Finding for the cluster playbooks.
func det(uid, kind, ip, pause string) string {
	return fmt.Sprintf(`{"class_uid":2004,"time":1763458937000,"severity_id":4,"confidence_score":95,`+
		`"finding_info":{"uid":%q,"title":"cluster load"},"metadata":{"product":{"name":"Cluster Test Detector"}},`+
		`"dst_endpoint":{"ip":%q},"unmapped":{"cluster":%q,"pause":%q}}`, uid, ip, kind, pause)
}

// submit posts detections and decodes the answer.
func submit(t *testing.T, c *cluster.Cluster, body string) api.DetectionsResponse {
	t.Helper()
	code, b := c.API(t, "POST", "/v1/detections", body)
	if code != 202 && code != 200 {
		t.Fatalf("POST /v1/detections: %d %s", code, b)
	}
	var r api.DetectionsResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return r
}

// submitBatch posts the detections as one JSON array and returns the run
// of each (by detection uid) of the given playbook.
func submitBatch(t *testing.T, c *cluster.Cluster, playbook string, dets map[string]string) map[string]string {
	t.Helper()
	uids := make([]string, 0, len(dets))
	for uid := range dets {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	var body strings.Builder
	body.WriteString("[")
	for i, uid := range uids {
		if i > 0 {
			body.WriteString(",")
		}
		body.WriteString(dets[uid])
	}
	body.WriteString("]")
	r := submit(t, c, body.String())
	runs := map[string]string{}
	for _, d := range r.Detections {
		for _, m := range d.Matched {
			if m.Playbook == playbook {
				runs[d.DetectionID] = m.WorkflowID
			}
		}
	}
	if len(runs) != len(dets) {
		t.Fatalf("%d detections started %d %s runs: %+v", len(dets), len(runs), playbook, r)
	}
	return runs
}

// getRun fetches one run.
func getRun(t *testing.T, c *cluster.Cluster, workflowID string) (api.RunDetail, bool) {
	t.Helper()
	code, b := c.API(t, "GET", "/v1/runs/"+url.PathEscape(workflowID), nil)
	if code != 200 {
		return api.RunDetail{}, false
	}
	var r api.RunDetail
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return r, true
}

// pendingGate is the id of the run's open gate ("" when none).
func pendingGate(r api.RunDetail) string {
	for _, st := range r.Steps {
		if st.Gate != nil && st.Gate.State == workflows.GatePending {
			return st.Gate.ID
		}
	}
	return ""
}

// waitRuns polls the runs until each is closed (or, with parked, waits at
// a gate or holds its containment until a rollback time) and returns their
// last details.
func waitRuns(t *testing.T, c *cluster.Cluster, wids []string, parked bool, d time.Duration) map[string]api.RunDetail {
	t.Helper()
	out := map[string]api.RunDetail{}
	todo := append([]string(nil), wids...)
	deadline := time.Now().Add(d)
	for len(todo) > 0 {
		var next []string
		for _, wid := range todo {
			r, ok := getRun(t, c, wid)
			if ok && (r.ClosedAt != nil || (parked && (pendingGate(r) != "" || r.Status == workflows.RunHolding))) {
				out[wid] = r
				continue
			}
			next = append(next, wid)
		}
		todo = next
		if len(todo) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d runs not done after %s, e.g. %s\n%s", len(todo), len(wids), d, todo[0], c.Logs(15))
		}
		time.Sleep(time.Second)
	}
	return out
}

// vote decides a gate through the API.
func vote(t *testing.T, c *cluster.Cluster, wid, gate, user, decision string) {
	t.Helper()
	body := map[string]string{"step": gate, "decision": decision, "user": user, "reason": "cluster test"}
	code, b := c.API(t, "POST", "/v1/runs/"+url.PathEscape(wid)+"/approvals", body)
	if code != 200 && code != 202 {
		t.Fatalf("vote on %s/%s by %s: %d %s", wid, gate, user, code, b)
	}
}

// blockedOnce checks each IP was blocked on the lab firewall exactly once
// and each run opened exactly one ticket.
func blockedOnce(t *testing.T, l *lab.Lab, ipByUID map[string]string) {
	t.Helper()
	for uid, ip := range ipByUID {
		if n := l.Changes(lab.PANOS, "register", ip); n != 1 {
			t.Errorf("detection %s: IP %s blocked %d times, want exactly 1: %+v", uid, ip, n, l.CallsFor(lab.PANOS, "", ip))
		}
		tickets := 0
		for _, call := range l.CallsFor(lab.Jira, "create_issue", "") {
			if call.Changed && strings.Contains(call.Note, uid) {
				tickets++
			}
		}
		if tickets != 1 {
			t.Errorf("detection %s: %d tickets, want exactly 1", uid, tickets)
		}
	}
}

func allSucceeded(t *testing.T, runs map[string]api.RunDetail) {
	t.Helper()
	for wid, r := range runs {
		if r.Status != workflows.RunSucceeded {
			t.Errorf("run %s: %s %s", wid, r.Status, r.Error)
			continue
		}
		for _, st := range r.Steps {
			if st.Status != "succeeded" {
				t.Errorf("run %s: step %s %s %s", wid, st.ID, st.Status, st.Error)
			}
		}
	}
}

// batch makes n detections of a kind with distinct IPs in 10.<net>.x.y.
func batch(prefix, kind, pause string, net, n int) (dets, ips map[string]string) {
	dets, ips = map[string]string{}, map[string]string{}
	for i := 0; i < n; i++ {
		uid := fmt.Sprintf("%s-%03d", prefix, i)
		ip := fmt.Sprintf("10.%d.%d.%d", net, i/250, i%250+1)
		dets[uid], ips[uid] = det(uid, kind, ip, pause), ip
	}
	return dets, ips
}

func values(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// TestCluster runs the production topology's checks in order on one
// cluster.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, a Temporal server, riposte serve and two workers")
	}
	slack := slackfake.New()
	t.Cleanup(slack.Close)
	// The channels the shipped playbooks post to exist in the fake Slack.
	slack.SetChannels(append(playbookChannels(t), slackChan)...)
	slackEnv := []string{
		"SLACK_BOT_TOKEN=" + slackfake.BotToken, "SLACK_API_URL=" + slack.URL(),
		"SLACK_SIGNING_SECRET=" + slackSecret, "RIPOSTE_APPROVAL_CHANNEL=" + slackChan,
		"SLACK_TEAM_ID=" + slackfake.TeamID, "SLACK_APP_ID=" + slackfake.AppID,
	}
	pbs := filepath.Join(harness.RepoRoot(), "playbooks") + "," + mustAbs(t, "testdata/playbooks")
	c := cluster.Start(t, cluster.Options{
		Playbooks: pbs,
		Policy:    testPolicy,
		WorkerEnv: slackEnv,
		// Gates whose playbook names no approver fall back to these.
		ServeEnv: append(slackEnv, "RIPOSTE_APPROVERS="+clusterLead),
	})
	t.Logf("cluster up: PostgreSQL %q, Temporal server %s; files in %s", c.Postgres.Version, c.Binaries.Version, c.Dir)

	// The secret files follow deploy/README.md's convention (owned by the
	// user Riposte runs as, 0400): the worker does not warn about them.
	for _, w := range c.Workers {
		if out := w.Output(); strings.Contains(out, "readable by group or others") {
			t.Errorf("%s warns about secret files:\n%s", w.Name, w.Tail(20))
		}
	}

	// Each worker's /readyz (the Kubernetes readiness probe) says ready.
	for i, m := range c.WorkerMetrics {
		resp, err := http.Get(m + "/readyz")
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("worker-%d /readyz: %v %v", i+1, err, resp)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}

	t.Run("setup-script", func(t *testing.T) {
		for _, want := range []string{"Creating namespace riposte (retention 168h0m0s)", "Registering search attributes", "Namespace riposte is ready for Riposte"} {
			if !strings.Contains(c.SetupOutput, want) {
				t.Errorf("create-namespace.sh output lacks %q:\n%s", want, c.SetupOutput)
			}
		}
	})

	t.Run("examples", func(t *testing.T) { testExamples(t, c) })
	t.Run("gated-api", func(t *testing.T) { testGatedAPI(t, c) })
	t.Run("gated-slack", func(t *testing.T) { testGatedSlack(t, c, slack) })
	t.Run("kill-worker", func(t *testing.T) { testKillWorker(t, c) })
	t.Run("rolling-restart", func(t *testing.T) { testRollingRestart(t, c) })
	t.Run("temporal-restart", func(t *testing.T) { testTemporalRestart(t, c) })
	t.Run("schema-rerun", func(t *testing.T) { testSchemaRerun(t, c) })
	t.Run("doctor", func(t *testing.T) { testDoctor(t, c, slackEnv) })
	t.Run("bench", func(t *testing.T) { testBench(t, c) })
	t.Run("upgrade", func(t *testing.T) { testUpgrade(t, c) })
}

var benchArgs = flag.String("cluster.bench", "--smoke", "TestCluster/bench: riposte bench flags (besides --temporal and --namespace); e.g. \"--phases riposte,half,parked\" for BENCHMARKS.md")

// testBench: riposte bench --temporal against the cluster, in a namespace
// of its own prepared by riposte setup. With -cluster.bench it runs the
// given measurement (the BENCHMARKS.md PostgreSQL row) and logs the report.
func testBench(t *testing.T, c *cluster.Cluster) {
	env := append(c.Env(), "TEMPORAL_NAMESPACE=riposte-bench")
	setup := exec.Command(c.Riposte, "setup")
	setup.Env = env
	if out, err := setup.CombinedOutput(); err != nil {
		t.Fatalf("riposte setup --namespace riposte-bench: %v\n%s", err, out)
	}
	report := filepath.Join(c.Dir, "bench.md")
	args := append([]string{"bench", "--temporal", c.Temporal.Address, "--namespace", "riposte-bench", "--out", report}, strings.Fields(*benchArgs)...)
	cmd := exec.Command(c.Riposte, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("riposte %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	md, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "external Temporal cluster at "+c.Temporal.Address) {
		t.Errorf("the report does not name the cluster:\n%s", md)
	}
	t.Logf("riposte bench on PostgreSQL (Temporal %s, %s):\n%s", c.Binaries.Version, c.Postgres.Version, md)
}

// playbookChannels are the Slack channels the shipped playbooks name.
func playbookChannels(t *testing.T) []string {
	files, _ := filepath.Glob(filepath.Join(harness.RepoRoot(), "playbooks", "*.yaml"))
	re := regexp.MustCompile(`(?m)^\s*channel:\s*"?([A-Z0-9]+)"?\s*$`)
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			out = append(out, string(m[1]))
		}
	}
	return out
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// testExamples: every shipped example (examples/*.json, *.ndjson) through
// serve; runs that park at a gate are approved through the API by the
// first listed approver; every run succeeds.
func testExamples(t *testing.T, c *cluster.Cluster) {
	files, _ := filepath.Glob(filepath.Join(harness.RepoRoot(), "examples", "*.json"))
	nd, _ := filepath.Glob(filepath.Join(harness.RepoRoot(), "examples", "*.ndjson"))
	files = append(files, nd...)
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	var wids []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		body := string(data)
		if strings.HasSuffix(f, ".ndjson") {
			// One detection a line: post them as a JSON array.
			var items []string
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				if l := strings.TrimSpace(sc.Text()); l != "" {
					items = append(items, l)
				}
			}
			body = "[" + strings.Join(items, ",") + "]"
		}
		r := submit(t, c, body)
		for _, d := range r.Detections {
			for _, m := range d.Matched {
				if m.Mode == "live" {
					wids = append(wids, m.WorkflowID)
				}
			}
		}
		t.Logf("%s: %d started", filepath.Base(f), r.Started)
	}
	if len(wids) == 0 {
		t.Fatal("no example started a live run")
	}
	runs := waitRuns(t, c, wids, true, 3*time.Minute)
	// Gates are approved through the API by as many listed approvers as
	// their quorum asks (ransomware wants two).
	var approved []string
	for wid, r := range runs {
		g := pendingGate(r)
		if g == "" {
			continue
		}
		for _, st := range r.Steps {
			if st.Gate == nil || st.Gate.ID != g {
				continue
			}
			quorum := max(st.Gate.Quorum, 1)
			if len(st.Gate.Approvers) < quorum {
				t.Fatalf("run %s: gate %s lists %d approver users for a quorum of %d", wid, g, len(st.Gate.Approvers), quorum)
			}
			for _, u := range st.Gate.Approvers[:quorum] {
				vote(t, c, wid, g, u, "approve")
			}
		}
		approved = append(approved, wid)
	}
	if len(approved) > 0 {
		// Approved runs close, or hold their containment (hold_for).
		harness.WaitFor(t, 2*time.Minute, "the approved example runs to go on", func() bool {
			for _, wid := range approved {
				r, ok := getRun(t, c, wid)
				if !ok || pendingGate(r) != "" || (r.ClosedAt == nil && r.Status != workflows.RunHolding) {
					return false
				}
				runs[wid] = r
			}
			return true
		})
	}
	for wid, r := range runs {
		// A run that holds its containment (hold_for) is done until the
		// hold expires and rolls back.
		if r.Status != workflows.RunSucceeded && r.Status != workflows.RunHolding {
			t.Errorf("example run %s: %s %s", wid, r.Status, r.Error)
		}
		for _, st := range r.Steps {
			if st.Status == "failed" {
				t.Errorf("example run %s: step %s failed: %s", wid, st.ID, st.Error)
			}
		}
	}
	t.Logf("%d example runs succeeded (%d approved through the API)", len(runs), len(approved))
}

// testGatedAPI: a gated run, a refused vote from someone not listed, then
// the approver's vote through the API; the block runs once.
func testGatedAPI(t *testing.T, c *cluster.Cluster) {
	dets, ips := batch("gated-api", "gated", "0s", 1, 1)
	runs := submitBatch(t, c, "cluster-gated", dets)
	wid := runs["gated-api-000"]
	r := waitRuns(t, c, []string{wid}, true, time.Minute)[wid]
	g := pendingGate(r)
	if g == "" {
		t.Fatalf("run %s is not waiting at a gate: %+v", wid, r)
	}
	body := map[string]string{"step": g, "decision": "approve", "user": "UMALLORY"}
	if code, b := c.API(t, "POST", "/v1/runs/"+url.PathEscape(wid)+"/approvals", body); code < 400 {
		t.Errorf("a vote by a non-approver was accepted: %d %s", code, b)
	}
	vote(t, c, wid, g, clusterLead, "approve")
	done := waitRuns(t, c, []string{wid}, false, time.Minute)
	allSucceeded(t, done)
	for _, st := range done[wid].Steps {
		if st.Gate != nil && (st.Gate.Decision == nil || st.Gate.Decision.User != clusterLead) {
			t.Errorf("gate decision %+v, want %s's", st.Gate.Decision, clusterLead)
		}
	}
	blockedOnce(t, c.Lab, ips)
}

// testGatedSlack: the approval request reaches Slack (the fake); a click
// with a forged signature is refused; the approver's signed click, sent to
// serve's /slack/interactions like Slack does, releases the step.
func testGatedSlack(t *testing.T, c *cluster.Cluster, slack *slackfake.Server) {
	before := len(slack.Messages())
	dets, ips := batch("gated-slack", "gated", "0s", 2, 1)
	wid := submitBatch(t, c, "cluster-gated", dets)["gated-slack-000"]
	r := waitRuns(t, c, []string{wid}, true, time.Minute)[wid]
	g := pendingGate(r)
	if g == "" {
		t.Fatalf("run %s is not waiting at a gate", wid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs, err := slack.WaitCalls(ctx, "chat.postMessage", before+1)
	if err != nil {
		t.Fatalf("no approval request posted to Slack: %v", err)
	}
	msg := msgs[len(msgs)-1]
	if msg.Params["channel"] != slackChan {
		t.Errorf("posted to %q", msg.Params["channel"])
	}
	post := func(req *http.Request) int {
		body := new(bytes.Buffer)
		_, _ = body.ReadFrom(req.Body)
		r, _ := http.NewRequest("POST", c.APIURL+"/slack/interactions", bytes.NewReader(body.Bytes()))
		r.Header = req.Header.Clone()
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	click := slackfake.BlockActionPayload(clusterLead, wid, g, slackapp.ActionApprove, slackChan, msg.Params["ts"])
	if code := post(slackfake.SignedInteraction("forged-secret", click, time.Now())); code != 401 {
		t.Errorf("forged signature answered %d, want 401", code)
	}
	if code := post(slackfake.SignedInteraction(slackSecret, click, time.Now())); code != 200 {
		t.Fatalf("signed click answered %d", code)
	}
	done := waitRuns(t, c, []string{wid}, false, time.Minute)
	allSucceeded(t, done)
	for _, st := range done[wid].Steps {
		if st.Gate != nil && (st.Gate.Decision == nil || st.Gate.Decision.User != clusterLead || st.Gate.Decision.Via != workflows.ViaSlack) {
			t.Errorf("gate decision %+v, want %s's through Slack", st.Gate.Decision, clusterLead)
		}
	}
	blockedOnce(t, c.Lab, ips)
}

// testKillWorker: 120 automatic containments in one request; worker 1 is
// SIGKILLed while they run and started again. Every run succeeds, every
// IP is blocked exactly once on the lab, every run opens one ticket.
func testKillWorker(t *testing.T, c *cluster.Cluster) {
	const n = 120
	dets, ips := batch("kill", "contain", "1s", 3, n)
	start := time.Now()
	runs := submitBatch(t, c, "cluster-contain", dets)
	// Kill once some blocks went out, while most runs are mid-flight.
	harness.WaitFor(t, time.Minute, "the first blocks", func() bool { return countBlocks(c.Lab, ips) >= n/10 })
	blocksAtKill := countBlocks(c.Lab, ips)
	c.Workers[0].Kill()
	time.Sleep(2 * time.Second)
	c.RestartWorker(t, 0, true)
	done := waitRuns(t, c, values(runs), false, 4*time.Minute)
	t.Logf("%d runs; worker-1 SIGKILLed after %d blocks; all closed %s after the request", n, blocksAtKill, time.Since(start).Round(time.Second))
	allSucceeded(t, done)
	blockedOnce(t, c.Lab, ips)
}

func countBlocks(l *lab.Lab, ips map[string]string) int {
	n := 0
	for _, ip := range ips {
		n += l.Changes(lab.PANOS, "register", ip)
	}
	return n
}

// testRollingRestart: runs parked at gates survive a rolling restart of
// both workers (SIGTERM, start, wait for polling, next); approved after,
// each blocks once.
func testRollingRestart(t *testing.T, c *cluster.Cluster) {
	dets, ips := batch("rolling", "gated", "0s", 4, 10)
	runs := submitBatch(t, c, "cluster-gated", dets)
	parked := waitRuns(t, c, values(runs), true, time.Minute)
	for i := range c.Workers {
		c.RestartWorker(t, i, false)
	}
	for wid, r := range parked {
		vote(t, c, wid, pendingGate(r), clusterLead, "approve")
	}
	done := waitRuns(t, c, values(runs), false, 2*time.Minute)
	allSucceeded(t, done)
	blockedOnce(t, c.Lab, ips)
}

// testTemporalRestart: the Temporal server is stopped and started again
// while 60 runs are in flight; they resume and finish exactly once.
func testTemporalRestart(t *testing.T, c *cluster.Cluster) {
	const n = 60
	dets, ips := batch("restart", "contain", "2s", 5, n)
	runs := submitBatch(t, c, "cluster-contain", dets)
	time.Sleep(time.Second)
	restartAt := time.Now()
	c.Temporal.Restart(t)
	t.Logf("Temporal server restarted in %s with %d of %d blocks done", time.Since(restartAt).Round(100*time.Millisecond), countBlocks(c.Lab, ips), n)
	done := waitRuns(t, c, values(runs), false, 4*time.Minute)
	allSucceeded(t, done)
	blockedOnce(t, c.Lab, ips)
	// serve and the workers reconnected by themselves.
	for _, p := range append(c.Workers, c.Serve) {
		if !p.Running() {
			t.Errorf("%s exited during the server restart:\n%s", p.Name, p.Tail(20))
		}
	}
}

// testSchemaRerun: setup-postgres.sh and create-namespace.sh run again on
// the live cluster change nothing and break nothing.
func testSchemaRerun(t *testing.T, c *cluster.Cluster) {
	before, err := c.Postgres.Psql("temporal", "select curr_version from schema_version")
	if err != nil {
		t.Fatalf("%v: %s", err, before)
	}
	out, err := c.Postgres.ApplySchemas(c.Binaries)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Temporal schemas are up to date") {
		t.Errorf("second schema run:\n%s", out)
	}
	after, _ := c.Postgres.Psql("temporal", "select curr_version from schema_version")
	if before != after {
		t.Errorf("schema version %q became %q", before, after)
	}
	t.Logf("temporal schema version %s", after)
	out, err = c.RunSetupScript()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "Registering") || strings.Contains(out, "Creating") || !strings.Contains(out, "Namespace riposte exists") {
		t.Errorf("second setup run changed something:\n%s", out)
	}
	// Still working.
	dets, ips := batch("rerun", "contain", "0s", 6, 1)
	done := waitRuns(t, c, values(submitBatch(t, c, "cluster-contain", dets)), false, time.Minute)
	allSucceeded(t, done)
	blockedOnce(t, c.Lab, ips)
}

// testDoctor: riposte doctor with the workers' settings passes every
// check; with a wrong namespace and an unreadable key it fails them.
func testDoctor(t *testing.T, c *cluster.Cluster, slackEnv []string) {
	run := func(extra ...string) (string, error) {
		cmd := exec.Command(c.Riposte, "doctor")
		cmd.Env = append(append(c.Env(), slackEnv...), extra...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run()
	if err != nil {
		t.Fatalf("doctor: %v\n%s", err, out)
	}
	for _, want := range []string{"ok    temporal", "server 1.", "ok    namespace    riposte (registered, retention 168h0m0s)",
		"ok    attributes", "ok    workers", fmt.Sprintf("polling \"riposte\", all of this release: runs go by reference at revision %d", workflows.LatestRev), "ok    codec", "ok    slack", "ok    connections  panos", "ok    clock", "all checks passed"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	out, err = run("TEMPORAL_NAMESPACE=absent", "RIPOSTE_CODEC_KEY_FILE="+filepath.Join(c.Dir, "no-such-key.json"), "SLACK_BOT_TOKEN=xoxb-wrong")
	if err == nil {
		t.Fatalf("doctor passed a broken deployment:\n%s", out)
	}
	for _, want := range []string{"FAIL  namespace    absent", "FAIL  codec", "FAIL  slack", "3 check(s) failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
}

var (
	previousOnce sync.Once
	// previousDir holds the previous release's binary; TestMain removes it.
	previousDir string
	previousBin string
	previousRef string
	previousErr error
)

// prebuild builds the Temporal server and schema tool, this riposte and
// the previous release's riposte.
func prebuild() error {
	logf := func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
	if _, err := cluster.BuildTemporal(logf); err != nil {
		return err
	}
	if _, err := harness.RiposteBinary(); err != nil {
		return err
	}
	buildPrevious()
	return nil
}

// previousRiposte returns the riposte binary of the previous release and
// its ref (see buildPrevious).
func previousRiposte(t *testing.T) (string, string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(harness.RepoRoot(), ".git")); err != nil {
		t.Skip("not a git checkout: no previous release to build")
	}
	buildPrevious()
	if previousErr != nil {
		t.Fatal(previousErr)
	}
	return previousBin, previousRef
}

// buildPrevious builds (once) the riposte binary of the previous release:
// RIPOSTE_UPGRADE_FROM (a git ref), else the newest v* tag before HEAD,
// else HEAD~1, from a git worktree. Outside a git checkout it does nothing.
func buildPrevious() {
	root := harness.RepoRoot()
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		return
	}
	previousOnce.Do(func() {
		git := func(args ...string) (string, error) {
			cmd := exec.Command("git", args...)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			return strings.TrimSpace(string(out)), err
		}
		ref := os.Getenv("RIPOSTE_UPGRADE_FROM")
		if ref == "" {
			if tag, err := git("describe", "--tags", "--abbrev=0", "--match", "v*", "HEAD~1"); err == nil && tag != "" {
				ref = tag
			} else {
				ref = "HEAD~1"
			}
		}
		commit, err := git("rev-parse", "--verify", ref+"^{commit}")
		if err != nil {
			previousErr = fmt.Errorf("git rev-parse %s: %v: %s", ref, err, commit)
			return
		}
		previousRef = ref + " (" + commit[:12] + ")"
		dir, err := os.MkdirTemp("", "riposte-previous-")
		if err != nil {
			previousErr = err
			return
		}
		previousDir = dir
		wt := filepath.Join(dir, "src")
		if out, err := git("worktree", "add", "--detach", wt, commit); err != nil {
			previousErr = fmt.Errorf("git worktree add: %v: %s", err, out)
			return
		}
		defer func() { _, _ = git("worktree", "remove", "--force", wt) }()
		previousBin = filepath.Join(dir, "riposte")
		// Dependencies come from the build cache; the main module's packages
		// are rebuilt (their directory differs).
		cmd := exec.Command("go", "build", "-o", previousBin, "./cmd/riposte")
		cmd.Dir = wt
		if out, err := cmd.CombinedOutput(); err != nil {
			previousErr = fmt.Errorf("building %s: %v\n%s", ref, err, out)
		}
	})
}

// testUpgrade: runs started by the previous release's workers (parked at
// gates) finish on this release's workers, which replay the old histories.
func testUpgrade(t *testing.T, c *cluster.Cluster) {
	old, ref := previousRiposte(t)
	t.Logf("previous release: %s", ref)
	// Roll back to the previous release: this release's workers stop, the
	// old one starts with the same settings.
	for _, w := range c.Workers {
		w.Stop(30 * time.Second)
	}
	prev := &harness.Process{Name: "worker-previous", Path: old, Args: []string{"worker"}, Dir: c.Dir, Env: c.Workers[0].Env}
	if err := prev.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prev.Stop(10 * time.Second) })
	c.WaitWorker(t, prev, 0)
	// serve passes playbooks by reference only while every worker polling
	// can load them (engine.WorkersByReference, re-checked every 2 s): give
	// it the time to see the previous release's worker.
	time.Sleep(3 * time.Second)
	dets, ips := batch("upgrade", "gated", "0s", 7, 5)
	cdets, cips := batch("upgrade-auto", "contain", "3s", 8, 5)
	runs := submitBatch(t, c, "cluster-gated", dets)
	autoRuns := submitBatch(t, c, "cluster-contain", cdets)
	parked := waitRuns(t, c, values(runs), true, time.Minute)
	// Upgrade: the old worker stops mid-run (the contain runs sleep), this
	// release's workers take over.
	prev.Stop(30 * time.Second)
	for i, w := range c.Workers {
		from := w.OutputLen()
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		c.WaitWorker(t, c.Workers[i], from)
	}
	for wid, r := range parked {
		vote(t, c, wid, pendingGate(r), clusterLead, "approve")
	}
	done := waitRuns(t, c, append(values(runs), values(autoRuns)...), false, 2*time.Minute)
	allSucceeded(t, done)
	blockedOnce(t, c.Lab, ips)
	blockedOnce(t, c.Lab, cips)
	for _, w := range c.Workers {
		if strings.Contains(w.Output(), "nondeterministic") || strings.Contains(w.Output(), "Nondeterminism") {
			t.Errorf("%s: nondeterminism replaying the previous release's histories:\n%s", w.Name, w.Tail(20))
		}
	}
}

// TestClusterGuardrailBudget: a budget of 10 automatic blocks holds across
// two workers under concurrency: 40 detections posted in 4 concurrent
// requests, at most 10 IPs blocked without a human, each at most once; the
// rest wait at a gate.
func TestClusterGuardrailBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, a Temporal server, riposte serve and two workers")
	}
	const max, n, requests = 10, 40, 4
	c := cluster.Start(t, cluster.Options{
		Playbooks: mustAbs(t, "testdata/playbooks"),
		Policy:    fmt.Sprintf("budgets:\n  - {action: panos.block_ip, max: %d, per: 1h}\n", max),
		ServeEnv:  []string{"RIPOSTE_APPROVERS=" + clusterLead},
	})
	dets, ips := batch("budget", "contain", "0s", 9, n)
	uids := make([]string, 0, n)
	for uid := range dets {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	var mu sync.Mutex
	var wids []string
	var wg sync.WaitGroup
	for r := 0; r < requests; r++ {
		part := map[string]string{}
		for i := r; i < n; i += requests {
			part[uids[i]] = dets[uids[i]]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs := submitBatch(t, c, "cluster-contain", part)
			mu.Lock()
			wids = append(wids, values(runs)...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	runs := waitRuns(t, c, wids, true, 3*time.Minute)
	automatic, gated := 0, map[string]int{}
	for wid, r := range runs {
		for _, st := range r.Steps {
			if st.ID != "block" {
				continue
			}
			switch {
			case st.Status == "succeeded" && st.Gate == nil:
				automatic++
			case st.Gate != nil && st.Gate.State == workflows.GatePending:
				rule := ""
				if st.Guardrail != nil {
					rule = st.Guardrail.Rule
				}
				gated[rule]++
			default:
				t.Errorf("run %s: block step %s (gate %+v)", wid, st.Status, st.Gate)
			}
		}
	}
	blocked := countBlocks(c.Lab, ips)
	t.Logf("%d runs: %d blocked automatically, gated by rule %v; lab firewall changes %d", len(runs), automatic, gated, blocked)
	if automatic > max || blocked > max {
		t.Errorf("budget of %d broken: %d automatic blocks, %d firewall changes", max, automatic, blocked)
	}
	if automatic != blocked {
		t.Errorf("%d runs blocked automatically but the firewall changed %d times", automatic, blocked)
	}
	// Every slot of the budget is used, unless the guard was unreachable
	// (it fails closed: issue 19's concern, counted here, not hidden).
	if automatic != max && gated["guardrails_unavailable"] == 0 {
		t.Errorf("%d automatic blocks for a budget of %d, none refused for an unavailable guard", automatic, max)
	}
	for rule, k := range gated {
		if rule != "budget" && rule != "guardrails_unavailable" {
			t.Errorf("%d runs gated by rule %q, want budget", k, rule)
		}
	}
	for uid, ip := range ips {
		if k := c.Lab.Changes(lab.PANOS, "register", ip); k > 1 {
			t.Errorf("detection %s: IP %s blocked %d times", uid, ip, k)
		}
	}
}
