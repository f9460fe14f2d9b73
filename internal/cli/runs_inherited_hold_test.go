package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/workflows"
)

// A withdrawn run continuing for its reopened finding hands over a hold
// whose release failed (the vendor refused the unblock): the new run
// lists it as inherited, with its error and the targets still blocked,
// and no run releases it again. riposte runs show printed its step, undo
// and error but not its targets, which the API gives (targets,
// failed_targets): the operator who must lift the block by hand could not
// tell which address. The line names the targets still in place, and
// the run it was inherited from; a hold of the run's own whose release
// failed for some of its targets names those too.
func TestRunsShowPrintsTheTargetsOfAnInheritedHoldWhoseReleaseFailed(t *testing.T) {
	t.Setenv("TZ", "UTC")
	// As GET /v1/runs/{id} answers for such a run (workflows.Hold's JSON).
	srv := fakeAPI(t, map[string]any{"/v1/runs/det-1/block-c2-beaconing": json.RawMessage(`{"workflow_id":"det-1/block-c2-beaconing","run_id":"r-b",
"playbook":"block-c2-beaconing","version":3,"kind":"playbook","mode":"live","status":"succeeded","temporal_status":"completed","started_at":"2026-03-01T13:00:00Z","closed_at":"2026-03-02T14:00:04Z","outcome":"contained",
"steps":[],"holds":[
{"step":"inherited:block","undo":"panos.unblock_ip","until":"2026-03-02T13:00:00Z","released_at":"2026-03-02T13:00:05Z",
 "error":"[panos.unblock_ip: 403 Forbidden]","inherited_from":"r-a","targets":[{"ip":"203.0.113.7"}],"failed_targets":[{"ip":"203.0.113.7"}]},
{"step":"block","undo":"panos.unblock_ip","until":"2026-03-02T14:00:00Z","released_at":"2026-03-02T14:00:03Z",
 "error":"[panos.unblock_ip: 503 Service Unavailable]","failed_targets":[{"ip":"198.51.100.23"}]}]}`)})
	code, out, stderr := runCLI(t, "runs", "show", "det-1/block-c2-beaconing", "--api", srv.URL, "--token", "t")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var inherited, own string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "  hold:      inherited:block:"):
			inherited = l
		case strings.HasPrefix(l, "  hold:      block:"):
			own = l
		}
	}
	for _, want := range []string{"failed at 2026-03-02 13:00:05", "403 Forbidden", `{"ip":"203.0.113.7"}`, "inherited from run r-a"} {
		if !strings.Contains(inherited, want) {
			t.Errorf("runs show printed:\n%s\nwant the inherited hold's line to say %q", out, want)
		}
	}
	if !strings.Contains(own, "503 Service Unavailable") || !strings.Contains(own, `{"ip":"198.51.100.23"}`) {
		t.Errorf("runs show printed:\n%s\nwant the run's own failed hold to name the target still in place", out)
	}
}

// An inherited hold still held names its targets and the run it came from
// too (its step is not among the run's steps, whose params say the rest).
func TestHoldLineNamesAnInheritedHoldsTargets(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	h := workflows.Hold{Step: "inherited:block", Undo: "panos.unblock_ip", Until: now.Add(time.Hour), InheritedFrom: "r-a",
		Targets: []map[string]any{{"ip": "203.0.113.7"}}}
	if l := holdLine(h, now); !strings.Contains(l, `on {"ip":"203.0.113.7"}, inherited from run r-a`) || !strings.Contains(l, "in 1h") {
		t.Errorf("holdLine = %q; want its targets and the run it was inherited from", l)
	}
	h.Step, h.InheritedFrom, h.Targets = "block", "", nil
	if l := holdLine(h, now); strings.Contains(l, "inherited") || strings.Contains(l, " on ") {
		t.Errorf("holdLine of the run's own hold = %q; want neither targets nor inherited", l)
	}
}
