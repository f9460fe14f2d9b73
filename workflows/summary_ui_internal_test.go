package workflows

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/temporalio/ui-server/v2/server/route"
)

// uiText renders md with the Temporal UI's own Markdown renderer
// (ui-server's /render route, which draws every event summary of the
// run's timeline) and returns the text a person reads.
func uiText(t *testing.T, md string) string {
	t.Helper()
	e := echo.New()
	route.SetRenderRoute(e, "/")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/render?content="+url.QueryEscape(md), nil))
	body := rec.Body.String()
	i, j := strings.Index(body, "<main>"), strings.Index(body, "</main>")
	if rec.Code != http.StatusOK || i < 0 || j < 0 {
		t.Fatalf("/render: %d %s", rec.Code, body)
	}
	inner := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(body[i+len("<main>"):j], "")
	return strings.Join(strings.Fields(html.UnescapeString(inner)), " ")
}

// TestDecisionSummaryReadsInTheTemporalUI: the decision marker's summary is
// the audit line an analyst reads in the run's timeline. The Temporal UI
// renders summaries as Markdown with SmartyPants fractions, so a vote
// count written "1/2" was drawn as the fraction <sup>1</sup>&frasl;<sub>2
// </sub>; it is written "1 of 2". A marker's summary is user metadata,
// which replay does not compare, so histories recorded with "1/2" replay.
func TestDecisionSummaryReadsInTheTemporalUI(t *testing.T) {
	for _, tc := range []struct {
		res  DecisionResult
		want string
	}{
		{DecisionResult{Approvals: 1, Quorum: 2, State: GatePending}, "1 of 2"},
		{DecisionResult{Approvals: 2, Quorum: 3, State: GatePending}, "2 of 3"},
		{DecisionResult{Approvals: 1, Quorum: 1, State: GateApproved}, "1 of 1"},
	} {
		s := decisionSummary(Decision{GateID: "isolate", User: "U0SOCLEAD1", Via: ViaSlack, Approve: true}, tc.res)
		got := uiText(t, s)
		if !strings.Contains(got, tc.want) && !strings.Contains(got, strings.ReplaceAll(tc.want, " of ", "/")) {
			t.Errorf("summary %q reads %q in the Temporal UI: the vote count %s is not shown", s, got, tc.want)
		}
	}
}
