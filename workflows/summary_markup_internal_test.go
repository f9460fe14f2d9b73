package workflows

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/riposte-dev/riposte/internal/mdtext/uirender"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// TestSummariesRenderOutsideValuesLiterally: the Temporal UI renders every
// marker, activity and timer summary as Markdown (one iframe each). A
// value that comes from outside Riposte (a rollback id made from the
// detection's uid, a user name from Slack or the API, the detector's
// withdrawal reason, a rollback's vendor error, a step's name) must show
// as the characters it is: no emphasis, link, HTML or code span, on one
// line. Each summary below is rendered by the UI's own renderer (and GFM)
// and must contain no element but the paragraph, and read the value.
func TestSummariesRenderOutsideValuesLiterally(t *testing.T) {
	hostile := []string{
		"_a_",
		"*b*",
		"__c__ **d**",
		"[x](http://e)",
		"<script>alert(1)</script>",
		"`code` and ``more``",
		"line\n# heading\n- item",
		"ceo@evil.example www.evil.example",
	}
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	gfm := goldmark.New(goldmark.WithExtensions(extension.GFM))
	tag := regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)`)
	for _, h := range hostile {
		for _, tc := range []struct {
			name string
			md   string
			want string // what the UI must read of the value
		}{
			{"rolled back (rollback id)", rolledBackSummary("UROLLER", at, "rollback:c2-block:"+h), oneLine("rollback:c2-block:" + h)},
			{"rolled back (user)", rolledBackSummary(h, at, "rollback:c2-block:x"), who(h)},
			{"rollback wait", rollbackWaitSummary(h), who(h)},
			{"rollback result (user)", rollbackResultSummary(h, "failed: it failed"), who(h)},
			{"rollback result (error)", rollbackResultSummary("UROLLER", "failed: "+h), oneLine(h)},
			{"extend", extendSummary("block", playbook.Duration(4*time.Hour), h, at), who(h)},
			{"safe mode", safeModeSummary("on", h), who(h)},
			{"decision", decisionSummary(Decision{GateID: "block", User: h, Via: ViaSlack, Approve: true}, DecisionResult{Approvals: 1, Quorum: 1, State: GateApproved}), who(h)},
			{"withdrawn", withdrawnSummary(h, 1, 1, 0), plain(h)},
			{"stale withdrawal", staleWithdrawalSummary(h, 1, 2), plain(h)},
			{"step", stepTitle(&playbook.CStep{Step: &playbook.Step{ID: "block", Name: h}}), oneLine(h)},
			{"step ahead", aheadSummary("enrich", &playbook.CStep{Step: &playbook.Step{ID: "block", Name: h}}), oneLine(h)},
		} {
			if strings.Contains(tc.md, "\n") {
				t.Errorf("%s with %q: summary %q is not one line", tc.name, h, tc.md)
			}
			html, err := uirender.HTML(tc.md)
			if err != nil {
				t.Fatal(err)
			}
			var g bytes.Buffer
			if err := gfm.Convert([]byte(tc.md), &g); err != nil {
				t.Fatal(err)
			}
			for _, out := range []string{html, g.String()} {
				for _, m := range tag.FindAllStringSubmatch(out, -1) {
					if m[2] != "p" {
						t.Errorf("%s with %q: summary %q renders a <%s%s> element: %s", tc.name, h, tc.md, m[1], m[2], out)
					}
				}
			}
			if got := uiText(t, tc.md); tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("%s with %q: summary %q reads %q in the Temporal UI, not %q", tc.name, h, tc.md, got, tc.want)
			}
		}
	}
}
