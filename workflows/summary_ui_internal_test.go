package workflows

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/mdtext/uirender"
)

// uiText is what a person reads of md in the Temporal UI's timeline.
func uiText(t *testing.T, md string) string {
	t.Helper()
	got, err := uirender.Text(md)
	if err != nil {
		t.Fatal(err)
	}
	return got
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
