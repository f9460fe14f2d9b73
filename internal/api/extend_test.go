package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// An extension is sealed just before it is sent (fresh when the run's
// validator checks it), and the run's refusal, e.g. of an extension while
// the hold is being released, is answered 409 with the run's reason.
func TestExtendSealedFreshAndRefusalIsConflict(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("api test decision key, 32 bytes!")})
	if err != nil {
		t.Fatal(err)
	}
	srv.Keys = keys
	c := mocks.NewClient(t)
	srv.Temporal = c
	h := mocks.NewWorkflowUpdateHandle(t)
	refusal := "the containment of step isolate is being released; contain it again if it is still needed"
	c.On("UpdateWorkflow", mock.Anything, mock.MatchedBy(func(o client.UpdateWorkflowOptions) bool {
		if o.WorkflowID != "w1" || o.UpdateName != workflows.UpdateExtend || len(o.Args) != 1 {
			return false
		}
		req, ok := o.Args[0].(workflows.ExtendRequest)
		return ok && req.User == "U0SOCLEAD1" && req.Via == workflows.ViaAPI &&
			keys.Verify(workflows.ExtendClaim("w1", req), req.Seal) == nil && signing.Fresh(req.Seal, time.Now()) == nil
	})).Return(h, nil).Once()
	h.On("Get", mock.Anything, mock.Anything).Return(temporal.NewApplicationError(refusal, "")).Once()
	got := serve(srv.Handler(), post("/v1/runs/w1/extend", "Bearer "+toks["approver"], `{"step":"isolate","by":"2h"}`))
	var pr struct{ Title, Detail string }
	_ = json.Unmarshal([]byte(got.body), &pr)
	if got.code != http.StatusConflict || pr.Title != "Extension refused" || !strings.Contains(pr.Detail, "is being released") {
		t.Errorf("status %d, body %s; want 409 with the run's refusal", got.code, got.body)
	}
}
