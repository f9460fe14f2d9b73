package cli

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// riposte extend says what is wrong with a duration: "-4h" used to answer
// Go's "flag provided but not defined: -4h", "3000000h" "not a positive
// duration" (it is too large), and "2562047h" was sent (a hold until the
// year 2896). An extension is at most 365d (the API refuses more too).
func TestExtendSaysWhatIsWrongWithTheDuration(t *testing.T) {
	t.Setenv("RIPOSTE_USER", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"RUN", "block", "-4h", "--as", "U1"}, `"-4h" is negative`},
		{[]string{"--as", "U1", "RUN", "block", "-2d"}, `"-2d" is negative`},
		{[]string{"RUN", "block", "3000000h", "--as", "U1"}, `"3000000h" is longer than 365d`},
		{[]string{"RUN", "block", "2562047h", "--as", "U1"}, `"2562047h" is longer than 365d`},
		{[]string{"RUN", "block", "0s", "--as", "U1"}, `"0s" is zero`},
		{[]string{"RUN", "block", "0", "--as", "U1"}, `"0" is zero: give a positive duration such as 4h (at most 365d)`},
	} {
		code, _, stderr := runCLI(t, append([]string{"extend", "--api", "http://127.0.0.1:1"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "flag provided but not defined") {
			t.Errorf("%v: exit %d, stderr %q, want exit 2 saying %q", tc.args, code, stderr, tc.want)
		}
	}
	// A flag that is not one is still refused as such.
	if code, _, stderr := runCLI(t, "extend", "--api", "http://127.0.0.1:1", "RUN", "block", "4h", "-bogus"); code != 2 || !strings.Contains(stderr, "flag provided but not defined: -bogus") {
		t.Errorf("-bogus: exit %d, stderr %q", code, stderr)
	}
}

// A hold far away (extended before extensions were bounded: until the year
// 2896) showed Go's saturated duration, "2562047h47m16.85s", in riposte
// holds and runs show; the time left is shown in days (from 2 days on).
func TestFarHoldShowsTheRealTimeLeft(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	far := time.Date(2896, 11, 20, 14, 30, 5, 0, time.UTC)
	days := (far.Unix() - now.Unix()) / 86400
	for _, tc := range []struct {
		until time.Time
		want  string
	}{
		{far, fmt.Sprintf("%dd2h30m5s", days)},
		{now.Add(90 * time.Minute), "1h30m0s"},
		{now.Add(-5 * time.Second), "-5s"},
		{now.Add(49*time.Hour + 1500*time.Millisecond), "2d1h0m2s"},
		{now.Add(48 * time.Hour), "2d "},
	} {
		var b bytes.Buffer
		printHolds(&b, []api.ActiveHold{{Hold: workflows.Hold{Step: "block", Undo: "panos.unblock_ip", Until: tc.until}, WorkflowID: "det-1/pb", Playbook: "pb"}}, now)
		if strings.Contains(b.String(), "2562047h") || !strings.Contains(b.String(), tc.want) {
			t.Errorf("holds: %s; want %q left", b.String(), tc.want)
		}
	}
	// runs show (a run holding): the same.
	far = time.Now().AddDate(0, 0, 870*365).Add(12 * time.Hour)
	d := api.RunDetail{
		RunSummary: api.RunSummary{WorkflowID: "det-1/pb", RunID: "r1", Kind: api.KindPlaybook, Playbook: "pb", Version: 3, Status: "holding"},
		Holds:      []workflows.Hold{{Step: "block", Undo: "panos.unblock_ip", Until: far}},
	}
	srv := fakeAPI(t, map[string]any{"/v1/runs/det-1/pb": d})
	code, out, stderr := runCLI(t, "runs", "show", "det-1/pb", "--api", srv.URL, "--token", "t")
	want := fmt.Sprintf("in %dd12h", 870*365)
	if code != 0 || strings.Contains(out, "2562047h") || !strings.Contains(out, want) {
		t.Errorf("runs show: exit %d, want %q in\n%s%s", code, want, out, stderr)
	}
}
