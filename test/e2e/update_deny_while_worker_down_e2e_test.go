package e2e

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The same promise as TestQueuedDenyBeforeDeadlineIsNotOverriddenByTimeoutApprove
// ("on_timeout: approve applies only when the approvers ... could answer
// until the deadline"; "a vote Riposte received and sealed before the
// deadline still counts when the run reads it after"), through the API's
// ordinary path: a plain POST (no Prefer: respond-async). Riposte seals
// the deny 4 s before the deadline and sends it as a Temporal Update,
// waiting up to 10 s for a worker. The worker is down (a restart, a
// rolling deploy) and back 1 s after the deadline, inside those 10 s: the
// Update reaches the run after the deadline. Its validator refused it by
// the time it was read, not by its seal (checkDeadline), so the approver
// was told "the vote came too late" and the timeout blocked the IP they
// denied in time, while the signal path counted the same vote
// (sealedInTime). The validator now applies the same rule
// (sealedBeforeDeadline; validators do not run on replay, so no GetVersion,
// and Update handlers run before the step's coroutine sees the timer).
func TestUpdateDenySealedBeforeDeadlineIsNotRefusedAsLate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h, wid, expires := gateAwaitingURecorder(t, t.TempDir(), "update-deny", "update-deny-1", "203.0.113.97")
	tok := h.tokenFor("URECORDER")

	// The worker goes down; the approver denies 4 s before the deadline,
	// an ordinary request (the API waits for a worker up to 10 s).
	h.sys.Worker.Stop()
	time.Sleep(time.Until(expires.Add(-4 * time.Second)))
	type answer struct {
		code int
		body string
		err  error
	}
	ans := make(chan answer, 1)
	sent := time.Now()
	go func() {
		req, _ := http.NewRequest("POST", h.baseURL+"/v1/runs/"+url.PathEscape(wid)+"/approvals",
			strings.NewReader(`{"step":"block","decision":"deny","reason":"that IP is our payment provider"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			ans <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ans <- answer{code: resp.StatusCode, body: string(b)}
	}()
	if sent.After(expires) {
		t.Fatalf("the deny was sent after the deadline %s: the test ran too slowly", expires)
	}

	// The worker is back 1 s after the deadline.
	time.Sleep(time.Until(expires.Add(time.Second)))
	h.startWorker(t)

	a := <-ans
	if a.err != nil {
		t.Fatalf("deny: %v", a.err)
	}
	st := blockStep(t, h.waitRun(wid, time.Minute))
	if st.Status != "denied" || st.Output != nil {
		t.Errorf("URECORDER denied 4 s before the deadline (sealed then), the API answered %d %s, yet step block is %s %q (gate %s, decided by %+v)",
			a.code, strings.TrimSpace(a.body), st.Status, st.Reason, qdGateState(st), qdGateDecision(st))
	}
}
