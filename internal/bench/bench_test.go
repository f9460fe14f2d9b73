package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/burst"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// TestSmoke runs `riposte bench --smoke` end to end and checks only that it
// produces a well-formed table with runs in every phase. No timing is
// asserted: CI machines vary.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "bench.md")
	var stdout, stderr bytes.Buffer
	code := Main(ctx, "riposte bench", []string{"--smoke", "--out", out, "--log-level", "warn"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code %d\nstderr:\n%s\nstdout:\n%s", code, stderr.String(), stdout.String())
	}
	md := stdout.String()
	file, err := os.ReadFile(out)
	if err != nil || string(file) != md {
		t.Fatalf("--out file differs from stdout (err %v)", err)
	}
	t.Logf("\n%s", md)

	for _, want := range []string{
		"| CPU |", "| cores |", "| memory |", "| Go |", "| load average",
		"Riposte throughput", "baseline throughput", "throughput Riposte/baseline",
		"p99 detection → run completed, Riposte/baseline", "p99 detection → first containment started",
		"RSS with 50 runs parked", "approving all 50", "condition evaluation", "validating 1,000 playbooks",
		"### Load phases", "### Parked approvals", "### Micro benchmarks", "### Burst",
		"history events per run, Riposte/baseline", "history bytes per run, Riposte/baseline", "### Server work per run",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Every table row has the same number of cells as its header.
	var cols int
	for i, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := strings.Count(line, "|")
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("line %d has %d cells, its table %d: %s", i+1, n-1, cols-1, line)
		}
	}
	// Non-zero runs in every load phase, and every parked run approved.
	phaseRow := regexp.MustCompile(`(?m)^\| (riposte|baseline) \((max|half)\) \|[^|]*\|[^|]*\| (\d+) \|`)
	rows := phaseRow.FindAllStringSubmatch(md, -1)
	if len(rows) != 4 {
		t.Fatalf("want 4 load phase rows, got %d", len(rows))
	}
	for _, r := range rows {
		if n, _ := strconv.Atoi(r[3]); n == 0 {
			t.Errorf("%s (%s): no runs started in the window", r[1], r[2])
		}
	}
	// Histories were read for both sides: 3 runs each, with events and bytes.
	histRow := regexp.MustCompile(`(?m)^\| (riposte|baseline) \| 3 \| ([0-9.]+) \| ([0-9]+) \| ([0-9]+) \| .*WorkflowExecutionStarted 1`)
	if got := histRow.FindAllStringSubmatch(md, -1); len(got) != 2 {
		t.Errorf("want a history row for baseline and riposte with 3 runs read, got %q", got)
	} else {
		for _, g := range got {
			if ev, _ := strconv.ParseFloat(g[2], 64); ev < 5 {
				t.Errorf("%s: %s events per run", g[1], g[2])
			}
		}
	}
	if !regexp.MustCompile(`runs parked at a gate \| 50 of 50 in`).MatchString(md) {
		t.Error("not every run parked")
	}
	// Smoke decides with Prefer: respond-async (the default): every
	// decision recorded (202), and the runs then complete (below).
	if m := regexp.MustCompile(`\| approving \(Prefer: respond-async, a signal each\) \| (\d+) answered 202 \(recorded on the run, which checks it\), (\d+) 200`).FindStringSubmatch(md); m == nil {
		t.Error("no approval figures")
	} else if a, _ := strconv.Atoi(m[1]); a == 0 {
		t.Error("no approval answered 202")
	} else if q, _ := strconv.Atoi(m[2]); a+q != 50 {
		t.Errorf("%d + %d approvals answered, want 50", a, q)
	}
	if !regexp.MustCompile(`approved runs completed \| 50 of 50,`).MatchString(md) {
		t.Error("not every approved run completed")
	}
	// The bursts: with a large budget every run contained; with a budget
	// of 10 (a fifth), exactly 10, the rest gated for budget; never
	// guardrails_unavailable.
	for _, want := range []string{
		`| 1000000 (large) | 50 | [^|]* | [^|]* | [^|]* | 50 (100%) | 0 (0%) | 0 (0%) | 0 (0%) | 0 (0%) |`,
		`| 10 (limited) | 50 | [^|]* | [^|]* | [^|]* | 10 (20%) | 40 (80%) | 0 (0%) | 0 (0%) | 0 (0%) |`,
	} {
		re := regexp.MustCompile(regexp.QuoteMeta(want))
		re = regexp.MustCompile(strings.ReplaceAll(re.String(), regexp.QuoteMeta("[^|]*"), "[^|]*"))
		if !re.MatchString(md) {
			t.Errorf("no burst row like %s", want)
		}
	}
}

// The micro benchmarks, for `go test -bench . ./internal/bench`.

func BenchmarkConditionEval(b *testing.B)     { BenchConditionEval(b) }
func BenchmarkStepCondition(b *testing.B)     { BenchStepCondition(b) }
func BenchmarkRender(b *testing.B)            { BenchRender(b) }
func BenchmarkDetectionValidate(b *testing.B) { BenchDetectionValidate(b) }
func BenchmarkDetectionIntake(b *testing.B)   { BenchDetectionIntake(b) }
func BenchmarkPlaybookValidate(b *testing.B)  { BenchPlaybookValidate(b) }
func BenchmarkPlaybooks1000(b *testing.B)     { benchPlaybooks(1000)(b) }

// TestMicroInputsValid checks the micro benchmarks' inputs: the playbooks
// validate against the shipped catalog and the detection passes intake.
func TestMicroInputsValid(t *testing.T) {
	validateAll(t, activities.Catalog(), [][]byte{microPlaybook(1), microPlaybook(7)})
	microDetection(t)
	for _, src := range []string{referenceYAML, parkedYAML, burst.Playbook} {
		if _, diags := playbook.LoadBytes("bench.yaml", []byte(src), activities.Catalog()); diags != nil {
			t.Fatal(diags)
		}
	}
}
