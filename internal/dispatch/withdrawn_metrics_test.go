package dispatch

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/telemetry"
	"github.com/riposte-dev/riposte/workflows"
)

// A run started only to record a withdrawal runs no step: it is counted as
// a withdrawal recorded, not as a run started (a dashboard of runs started
// would otherwise show responses to findings nothing responded to).
func TestWithdrawalRecordedIsNotARunStarted(t *testing.T) {
	ctx := context.Background()
	create, closed := closeAndCreate(t)
	d, _ := withdrawnFirstDispatcher(t, workflows.LatestRev)
	d.Metrics = telemetry.NewMetrics(telemetry.MetricsOptions{NoRuntimeCollectors: true})
	if out, err := d.Dispatch(ctx, 0, closed, Options{}); err != nil || len(out.Recorded) != 1 {
		t.Fatalf("Close first: %+v, %v", out, err)
	}
	other := withTimes(create, 0, 0)
	other["finding_info"].(map[string]any)["uid"] = "another-finding"
	if out, err := d.Dispatch(ctx, 0, other, Options{}); err != nil || len(out.Matched) != 1 || out.Matched[0].Deduplicated {
		t.Fatalf("another finding's Create: %+v, %v", out, err)
	}
	rec := httptest.NewRecorder()
	d.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`riposte_runs_started_total{mode="live",playbook="respond"} 1`,
		`riposte_withdrawals_recorded_total{playbook="respond"} 1`,
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(string(body), "riposte_"))
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
