package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// An extension, a safe-mode switch and a rollback name the credential that
// authenticated their sender (the personal token's id, never the token),
// covered by the seal, while every worker verifies such seals; with a
// worker of an earlier release polling it is left out, since that worker
// would refuse the seal as forged.
func TestControlRequestsSealTheCredential(t *testing.T) {
	keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("api test decision key, 32 bytes!")})
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, workersNew bool, credential, token string, verify func(credential string) error) {
		t.Helper()
		switch {
		case workersNew && (!strings.HasPrefix(credential, "token:") || len(credential) <= len("token:") || strings.Contains(credential, token)):
			t.Errorf("credential %q, want token:<the token's id>", credential)
		case !workersNew && credential != "":
			t.Errorf("credential %q sealed while a worker of an earlier release polls", credential)
		}
		if err := verify(credential); err != nil {
			t.Errorf("seal does not verify: %v", err)
		}
		if workersNew && verify("token:someone-else") == nil {
			t.Error("the seal still verifies with another credential")
		}
	}
	for _, workersNew := range []bool{true, false} {
		seals := func(context.Context) bool { return workersNew }
		t.Run("extend", func(t *testing.T) {
			srv, toks, _ := identityServer(t, &fakeStarter{})
			srv.Keys, srv.SealsControlCredential = keys, seals
			c := mocks.NewClient(t)
			srv.Temporal = c
			h := mocks.NewWorkflowUpdateHandle(t)
			var sent workflows.ExtendRequest
			c.On("UpdateWorkflow", mock.Anything, mock.MatchedBy(func(o client.UpdateWorkflowOptions) bool {
				req, ok := o.Args[0].(workflows.ExtendRequest)
				sent = req
				return ok
			})).Return(h, nil).Once()
			h.On("Get", mock.Anything, mock.Anything).Return(nil).Once()
			if got := serve(srv.Handler(), post("/v1/runs/w1/extend", "Bearer "+toks["approver"], `{"step":"isolate","by":"2h"}`)); got.code != http.StatusOK {
				t.Fatalf("status %d: %s", got.code, got.body)
			}
			check(t, workersNew, sent.Credential, toks["approver"], func(cred string) error {
				r := sent
				r.Credential = cred
				return keys.Verify(workflows.ExtendClaim("w1", r), r.Seal)
			})
		})
		t.Run("safe mode", func(t *testing.T) {
			srv, toks, _ := identityServer(t, &fakeStarter{})
			c := &safeModeClient{}
			srv.Temporal, srv.Keys, srv.SealsControlCredential = c, keys, seals
			if got := serve(srv.Handler(), post("/v1/policy/safe-mode", "Bearer "+toks["approver"], `{"enabled":true}`)); got.code != http.StatusOK || len(c.reqs) != 1 {
				t.Fatalf("status %d, %d updates: %s", got.code, len(c.reqs), got.body)
			}
			check(t, workersNew, c.reqs[0].Credential, toks["approver"], func(cred string) error {
				r := c.reqs[0]
				r.Credential = cred
				return keys.Verify(workflows.SafeModeClaim(r), r.Seal)
			})
		})
		t.Run("rollback", func(t *testing.T) {
			srv, toks, _ := identityServer(t, &fakeStarter{})
			run := rollbackRun(playbook.ModeLive, false)
			c := &rollbackClient{runClient: &runClient{t: t, attrs: map[string]any{"PlaybookName": "pb", "RunStatus": "succeeded", "RunMode": playbook.ModeLive},
				result: workflows.Result{Playbook: "pb", Status: "succeeded", Steps: run.Steps}}}
			srv.Temporal, srv.Keys, srv.SealsControlCredential = c, keys, seals
			if got := serve(srv.Handler(), post("/v1/runs/w1/rollback", "Bearer "+toks["approver"], `{}`)); got.code != http.StatusAccepted || len(c.inputs) != 1 {
				t.Fatalf("status %d, %d rollbacks: %s", got.code, len(c.inputs), got.body)
			}
			check(t, workersNew, c.inputs[0].Credential, toks["approver"], func(cred string) error {
				in := c.inputs[0]
				in.Credential = cred
				return keys.Verify(workflows.RollbackUndoClaim(roundTrip(t, in)), in.Seal)
			})
		})
	}
}

// roundTrip is the rollback input as the workflow decodes it (numbers in
// undo params become float64), which is what its seal covers.
func roundTrip(t *testing.T, in workflows.RollbackInput) workflows.RollbackInput {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out workflows.RollbackInput
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
