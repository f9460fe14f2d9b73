package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// A run whose steps have all ended but which holds a containment
// (contain_for: 24h in the shipped block-c2-beaconing) runs on until the
// release. riposte runs follow printed the steps and then nothing for
// those 24 hours: the analyst could not tell a holding run from a stuck
// one, nor learn when it would end. follow says the run holds, until when
// and what releases it (and again after an extension moves the release).
func TestRunsFollowSaysTheRunHolds(t *testing.T) {
	until := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := api.RunDetail{RunSummary: api.RunSummary{WorkflowID: "pb:x", Status: workflows.RunHolding, HoldUntil: &until},
			Steps: []workflows.StepResult{{ID: "block", Status: "succeeded"}},
			Holds: []workflows.Hold{{Step: "block", Undo: "panos.unblock_ip", Until: until}}}
		switch k := n.Add(1); {
		case k == 1:
			d.Status, d.HoldUntil, d.Holds = workflows.RunRunning, nil, nil
			d.Steps[0].Status = "running"
		case k >= 6:
			now := time.Now()
			d.Status, d.ClosedAt, d.HoldUntil = workflows.RunSucceeded, &now, nil
			rel := now
			d.Holds[0].ReleasedAt = &rel
		}
		writeJSONTo(w, d)
	}))
	defer srv.Close()
	code, out, stderr := runCLI(t, "runs", "follow", "pb:x", "--api", srv.URL, "--token", "t", "--interval", "10ms")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, stderr)
	}
	holding := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "holding") {
			holding = l
		}
	}
	if holding == "" || !strings.Contains(holding, "block") || !strings.Contains(holding, stamp(until)) {
		t.Errorf("riposte runs follow of a run that held its containment until %s never said so:\n%s", stamp(until), out)
	}
	if c := strings.Count(out, "holding"); c != 1 {
		t.Errorf("the hold is said %d times, want once per release time:\n%s", c, out)
	}
}
