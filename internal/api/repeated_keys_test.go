package api

import (
	"net/http"
	"strings"
	"testing"
)

// encoding/json keeps the last of two equal keys and matches keys without
// case ("Enabled", "ENABLED", even "\u212anown" for "known"), so a control
// body could name a field twice and mean two things: a proxy, a log or a
// reviewer reading the first "enabled": true saw safe mode switched on,
// Riposte switched it off; the first "decision": "deny" was an approval.
// The detection wrapper refuses a repeated key for this reason; control
// and decision bodies refuse one too (400), and nothing is sent.
func TestControlBodiesRefuseRepeatedKeys(t *testing.T) {
	for _, body := range []string{
		`{"enabled": true, "enabled": false}`,
		`{"enabled": true, "Enabled": false}`,
		`{"enabled": true, "ENABLED": false}`,
	} {
		t.Run(body, func(t *testing.T) {
			h, tok, c := safeModeServer(t)
			got := serve(h, post("/v1/policy/safe-mode", tok, body))
			if got.code != http.StatusBadRequest || len(c.reqs) != 0 || !strings.Contains(got.body, "is repeated") {
				t.Errorf("status %d, updates %+v; want 400 saying the key is repeated and none sent: %s", got.code, c.reqs, got.body)
			}
		})
	}
	for _, body := range []string{
		`{"step": "isolate", "decision": "deny", "decision": "approve"}`,
		`{"step": "isolate", "decision": "deny", "DECISION": "approve"}`,
		`{"step": "notify", "decision": "approve", "\u017ftep": "isolate"}`, // ſ (long s) folds to S
	} {
		t.Run(body, func(t *testing.T) {
			c := &approvalClient{}
			h, toks, _ := approvalServer(t, c)
			got := serve(h, post("/v1/runs/w1/approvals", "Bearer "+toks["approver"], body))
			if got.code != http.StatusBadRequest || len(c.updates) != 0 || len(c.signals) != 0 || !strings.Contains(got.body, "is repeated") {
				t.Errorf("status %d, %d update(s); want 400 saying the key is repeated and nothing sent: %s", got.code, len(c.updates), got.body)
			}
		})
	}
	// One key in another case is not a repetition: it is still read.
	h, tok, c := safeModeServer(t)
	if got := serve(h, post("/v1/policy/safe-mode", tok, `{"Enabled": true}`)); got.code != http.StatusOK || len(c.reqs) != 1 || !c.reqs[0].Enabled {
		t.Errorf(`{"Enabled": true}: status %d, updates %+v: %s`, got.code, c.reqs, got.body)
	}
}
