package pbtest_test

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/intake/convert"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// TestShippedNoActiveFindingDropped: every active finding gets at least a
// ticket. triage-low-confidence took a finding below 60% or without a
// confidence that no response playbook takes, but not the same finding
// when its producer was sure of it: Tenzir's Suricata alerts at 85%
// (their own confidence) and a Critical Defender malware detection
// (tenzir-defender-1116, no file hash: endpoint-threat needs one) at 95%
// started nothing at all, while the same records at 30% or with no
// confidence got a triage ticket. The more certain detection was the one
// silently dropped.
//
// Checked on every real record and example, at its own confidence and at
// confidence unknown, 30 and 95.
func TestShippedNoActiveFindingDropped(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	set, _, diags := playbook.Load([]string{filepath.Join(root, "playbooks")}, activities.Catalog())
	if len(diags) > 0 {
		t.Fatalf("shipped playbooks: %v", diags)
	}
	files, _ := filepath.Glob(filepath.Join(root, "internal", "intake", "testdata", "real", "*.json"))
	ex, _ := filepath.Glob(filepath.Join(root, "examples", "*.json"))
	checked := 0
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
			orig, _, err := convert.One(i, map[string]any(d), "")
			if err != nil {
				continue // refused at intake
			}
			for _, conf := range []string{"own", "unknown", "30", "95"} {
				det := maps.Clone(orig)
				if conf != "own" {
					delete(det, "confidence_score")
					delete(det, "confidence_id")
					delete(det, "confidence")
					if n, err := strconv.Atoi(conf); err == nil {
						det["confidence_score"] = n
					}
				}
				view := finding.Build(det, finding.DefaultConfig())
				if view["state"] != finding.StateActive {
					continue
				}
				checked++
				env := map[string]any{"detection": det, "finding": view}
				taken := false
				for _, c := range set.Playbooks {
					ok, err := c.When.EvalBool(env)
					if err != nil {
						t.Errorf("%s#%d: %s: %v", filepath.Base(f), i, c.Playbook.Name, err)
					}
					taken = taken || ok
				}
				if !taken {
					t.Errorf("%s#%d (severity %v, confidence %s: %v): active, and no playbook takes it, not even triage", filepath.Base(f), i, view["severity"], conf, view["confidence"])
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d findings checked", checked)
	}
}
