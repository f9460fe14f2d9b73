package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/proto"

	"github.com/riposte-dev/riposte/internal/cli"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/workflows"
)

// TestPlaybookByReferenceOnEmbeddedServer: a run's input carries the
// detection first and a reference to its playbook version, not the
// playbook; a run parked at a gate when riposte dev restarts with an edited
// playbook finishes on the version it started with (found in the data
// dir's store); a run whose version no worker has fails at once, saying
// which version and what to do.
func TestPlaybookByReferenceOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir, pbDir := t.TempDir(), t.TempDir()
	v1, err := os.ReadFile("testdata/playbooks/gated.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pbFile := filepath.Join(pbDir, "gated.yaml")
	if err := os.WriteFile(pbFile, v1, 0o600); err != nil {
		t.Fatal(err)
	}
	withPlaybooks := func(o *cli.DevOptions) { o.Playbooks = pbDir }
	h := startDevForTest(t, dir, withPlaybooks)
	wid := parkGated(t, h, "byref-1")

	c := dialDev(t, h, "byref-test")
	in := startInput(t, c, h, wid)
	if in.Playbook != nil || in.PlaybookRef == nil {
		t.Fatalf("input carries playbook %v, ref %+v; want a reference only", in.Playbook != nil, in.PlaybookRef)
	}
	if want := (workflows.PlaybookRef{Name: "e2e-gated", Version: 1, Digest: playbook.Digest(v1)}); *in.PlaybookRef != want {
		t.Errorf("reference %+v, want %+v", *in.PlaybookRef, want)
	}
	// The worker's identity says what it reads, in the order starters of
	// earlier releases parse it.
	tq, err := c.DescribeTaskQueue(context.Background(), h.sys.Temporal.TaskQueue, enums.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		t.Fatal(err)
	}
	if rev := engine.PollersRev(tq.GetPollers()); rev != workflows.LatestRev || !engine.PollersReadCompressed(tq.GetPollers()) {
		t.Errorf("pollers %v: revision %d (want %d), read compressed %v (want true)", tq.GetPollers(), rev, workflows.LatestRev, engine.PollersReadCompressed(tq.GetPollers()))
	}
	h.sys.Close()
	// The SDK's run cache is process-wide: empty it, so the restarted
	// worker replays the run and loads its playbook from the store.
	worker.PurgeStickyWorkflowCache()

	// Version 2 replaces the file; the parked run keeps version 1.
	v2 := strings.Replace(strings.Replace(string(v1), "version: 1", "version: 2", 1), "approved for", "v2 approved for", 1)
	if err := os.WriteFile(pbFile, []byte(v2), 0o600); err != nil {
		t.Fatal(err)
	}
	h2 := startDevForTest(t, dir, withPlaybooks)
	defer h2.sys.Close()
	h2.approve(wid, "approve", "URECORDER")
	d := h2.waitRun(wid, 90*time.Second)
	if d.Status != workflows.RunSucceeded {
		t.Fatalf("after restart and approval: %+v", d)
	}
	c2 := dialDev(t, h2, "byref-test")
	var res workflows.Result
	if err := c2.GetWorkflow(context.Background(), wid, "").Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Version != 1 || res.Digest != playbook.Digest(v1) {
		t.Errorf("the run finished on v%d %s, want v1 %s", res.Version, res.Digest, playbook.Digest(v1))
	}
	if s, _ := res.Step("approve"); s == nil || strings.Contains(s.Output.(map[string]any)["message"].(string), "v2") {
		t.Errorf("the approve step ran version 2's params: %+v", s)
	}

	// A version no worker has.
	missing := strings.Repeat("0", 64)
	run, err := c2.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "byref-missing", TaskQueue: workflows.DefaultTaskQueue},
		"e2e-gated", workflows.Input{Detection: map[string]any{"class_uid": 2004}, PlaybookRef: &workflows.PlaybookRef{Name: "e2e-gated", Version: 7, Digest: missing}, Rev: workflows.CurrentRev})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = run.Get(ctx, nil)
	if err == nil {
		t.Fatal("a run of a missing version succeeded")
	}
	for _, want := range []string{"playbook e2e-gated version 7 (digest " + missing + ") is not available to this worker", "playbook version not in the store", "submit the detection again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// startInput decodes a run's input from its first history event, and checks
// that its JSON opens with the detection.
func startInput(t *testing.T, c client.Client, h *devHarness, wid string) workflows.Input {
	t.Helper()
	p, dec := sealedInput(t, c, h, wid)
	if raw := string(dec.GetData()); !strings.HasPrefix(raw, `{"detection":`) {
		t.Errorf("input does not open with the detection: %.80s", raw)
	}
	// riposte dev compresses payloads before encrypting them: the sealed
	// input is shorter than the payload it holds (uncompressed it would be
	// that payload plus the nonce and tag).
	if sealed, plain := len(p.GetData()), proto.Size(dec); sealed >= plain {
		t.Errorf("sealed input is %d bytes for a %d-byte payload: not compressed", sealed, plain)
	}
	var in workflows.Input
	if err := codec.NewDataConverter(h.sys.Keys).FromPayload(p, &in); err != nil {
		t.Fatal(err)
	}
	return in
}

// riposte dev --payload-compression=false seals payloads uncompressed, as
// releases before 2026-12-05 read them: the sealed input is the payload
// plus the GCM nonce and tag, and the run still reads it.
func TestDevWithoutPayloadCompression(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir(), func(o *cli.DevOptions) { o.NoPayloadCompression = true })
	defer h.sys.Close()
	wid := parkGated(t, h, "nocompress-1")
	p, dec := sealedInput(t, dialDev(t, h, "nocompress-test"), h, wid)
	if sealed, plain := len(p.GetData()), proto.Size(dec); sealed != plain+28 {
		t.Errorf("sealed input is %d bytes for a %d-byte payload: want %d (uncompressed, plus nonce and tag)", sealed, plain, plain+28)
	}
}

// parkGated submits a detection the e2e-gated playbook takes and waits
// until its run waits for approval; it returns the run's workflow id.
func parkGated(t *testing.T, h *devHarness, uid string) string {
	t.Helper()
	code, r := h.submit(detectionJSON(uid, 5, `,"unmapped":{"gate":true}`))
	if code != 202 {
		t.Fatalf("submit: %d %+v", code, r)
	}
	wid := matched(t, r, "e2e-gated")
	h.waitStep(wid, "approve", "waiting_approval")
	return wid
}

// sealedInput returns a run's input as stored (sealed) and decoded.
func sealedInput(t *testing.T, c client.Client, h *devHarness, wid string) (sealed, plain *commonpb.Payload) {
	t.Helper()
	ev, err := c.GetWorkflowHistory(context.Background(), wid, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).Next()
	if err != nil {
		t.Fatal(err)
	}
	sealed = ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0]
	dec, err := codec.NewCodec(h.sys.Keys).Decode([]*commonpb.Payload{sealed})
	if err != nil {
		t.Fatal(err)
	}
	return sealed, dec[0]
}
