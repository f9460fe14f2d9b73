package pbtest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/intake/convert"
	"github.com/riposte-dev/riposte/internal/pbtest"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// TestShippedTriageOnlyWhenNoResponsePlaybook: README (Shipped
// playbooks) routes a detection with a confidence below 60, or none, to
// triage-low-confidence: a triage ticket, nothing contained. A detection
// with unknown confidence that a response playbook takes (its containment
// waits for a human: endpoint-threat, cloud-identity, compromised-account)
// already gets that playbook's ticket and approval request; a second,
// triage ticket for the same finding is noise an analyst must close by
// hand, and two tickets for one incident split its history. The rule:
// triage takes an active finding exactly when no other shipped playbook
// does (below 60, unknown, or a confident one no response playbook is
// written for).
//
// Checked on every real record of internal/intake/testdata/real, every
// example, and every detection of every shipped playbook test case (with
// its patch): triage-low-confidence's trigger repeats the other
// playbooks' conditions, and this test fails when they drift apart.
func TestShippedTriageOnlyWhenNoResponsePlaybook(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	set, _, diags := playbook.Load([]string{filepath.Join(root, "playbooks")}, activities.Catalog())
	if len(diags) > 0 {
		t.Fatalf("shipped playbooks: %v", diags)
	}
	type det struct {
		name string
		d    map[string]any
	}
	var dets []det
	files, _ := filepath.Glob(filepath.Join(root, "internal", "intake", "testdata", "real", "*.json"))
	ex, _ := filepath.Glob(filepath.Join(root, "examples", "*.json"))
	for _, f := range append(files, ex...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := intake.Decode(bytes.NewReader(b), intake.DecodeOptions{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, d := range ds {
			out, _, err := convert.One(i, map[string]any(d), "")
			if err != nil {
				continue // refused at intake (QRadar's offense without severity_id)
			}
			dets = append(dets, det{filepath.Base(f) + "#" + strconv.Itoa(i), out})
		}
	}
	tfs, _ := filepath.Glob(filepath.Join(root, "playbooks", "*.test.yaml"))
	for _, tf := range tfs {
		f, diags := pbtest.ReadFile(tf)
		if len(diags) > 0 {
			t.Fatalf("%s: %v", tf, diags)
		}
		for _, c := range f.Cases {
			if c.Detection != nil {
				dets = append(dets, det{filepath.Base(tf) + ": " + c.Name, c.Detection})
			}
		}
	}
	if len(dets) < 100 {
		t.Fatalf("only %d detections", len(dets))
	}
	for _, d := range dets {
		view := finding.Build(d.d, finding.DefaultConfig())
		if view["state"] != finding.StateActive {
			continue
		}
		env := map[string]any{"detection": d.d, "finding": view}
		var others []string
		triage := false
		for _, c := range set.Playbooks {
			ok, err := c.When.EvalBool(env)
			if err != nil {
				t.Errorf("%s: %s: %v", d.name, c.Playbook.Name, err)
			}
			switch {
			case !ok:
			case c.Playbook.Name == "triage-low-confidence":
				triage = true
			default:
				others = append(others, c.Playbook.Name)
			}
		}
		switch {
		case triage && len(others) > 0:
			t.Errorf("%s (confidence %v): two tickets for one finding: triage-low-confidence and %s", d.name, view["confidence"], strings.Join(others, ", "))
		case !triage && len(others) == 0:
			// Whatever the confidence: a confident finding no response
			// playbook takes is triaged too (TestShippedNoActiveFindingDropped).
			t.Errorf("%s (confidence %v): no playbook takes it, and triage does not either", d.name, view["confidence"])
		case slices.Contains(others, "triage-low-confidence"):
			t.Errorf("unreachable")
		}
	}
}
