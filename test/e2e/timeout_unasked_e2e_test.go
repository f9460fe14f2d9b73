package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/workflows"
)

// on_timeout: approve contains only when an approver was asked and kept
// silent. The approval channel of e2e-unasked does not exist in the Slack
// fake (chat.postMessage answers channel_not_found), so nobody is asked:
// at the deadline the gate times out and the IP is not blocked. Before,
// the timeout blocked it. With -record the run's history (it holds the
// timeout-approve-needs-asked marker) is saved for the replay guard.
func TestTimeoutDoesNotApproveUnaskedGate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, fake := slackDev(t, false)
	code, r := h.submit(fmt.Sprintf(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":%q},"metadata":{"product":{"name":"x"}},"dst_endpoint":{"ip":"203.0.113.97"},"unmapped":{"unasked":true}}`, "unasked-1"))
	if code != 202 {
		t.Fatalf("submit: %d %+v", code, r)
	}
	wid := matched(t, r, "e2e-unasked")
	d := h.waitRun(wid, time.Minute)
	if len(d.Steps) != 1 {
		t.Fatalf("steps: %+v", d.Steps)
	}
	st := d.Steps[0]
	if st.Status != "timed_out" || st.Output != nil || !strings.Contains(st.Reason, "could not be posted") {
		t.Errorf("step block: %s %q, output %v; want timed_out saying the request could not be posted, nothing blocked", st.Status, st.Reason, st.Output)
	}
	if st.Gate == nil || st.Gate.State != workflows.GateTimedOut || st.Gate.Decision == nil || !strings.HasPrefix(st.Gate.Decision.Reason, workflows.ReasonTimeoutNotApplied) {
		t.Errorf("gate: %+v, want timed out with the reason", st.Gate)
	}
	tried := false
	for _, c := range fake.Messages() {
		tried = tried || c.Params["channel"] == "CGONE01"
	}
	if !tried {
		t.Error("the approval request was not attempted in CGONE01")
	}
	if *record {
		c, err := client.Dial(client.Options{HostPort: h.sys.Server.FrontendAddress(), Namespace: "default"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		saveHistory(t, c, wid, d.RunID, *recordPrefix+"unasked-e2e-timeout")
		copyStore(t, h.dir)
	}
}
