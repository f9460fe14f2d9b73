package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// actionClient is runClient (the ended live run w1, whose isolation of h1
// succeeded, and rollback starts) that also takes decide and extend
// Updates and the safe-mode update-with-start. It keeps the seal of every
// request it receives.
type actionClient struct {
	*runClient
	mu    sync.Mutex
	seals []*signing.Seal
}

func (c *actionClient) keep(s *signing.Seal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seals = append(c.seals, s)
}

func (c *actionClient) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	if in, ok := args[0].(workflows.RollbackInput); ok {
		c.keep(in.Seal)
	}
	return c.runClient.ExecuteWorkflow(ctx, o, wf, args...)
}

func (c *actionClient) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	switch a := o.Args[0].(type) {
	case workflows.Decision:
		c.keep(a.Seal)
	case workflows.ExtendRequest:
		c.keep(a.Seal)
	}
	return actionHandle{}, nil
}

func (c *actionClient) NewWithStartWorkflowOperation(client.StartWorkflowOptions, any, ...any) client.WithStartWorkflowOperation {
	return nil
}

func (c *actionClient) UpdateWithStartWorkflow(_ context.Context, o client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	if a, ok := o.UpdateOptions.Args[0].(workflows.SafeModeRequest); ok {
		c.keep(a.Seal)
	}
	return actionHandle{}, nil
}

// actionHandle is an Update the run accepted.
type actionHandle struct {
	client.WorkflowUpdateHandle // nil: only Get is used
}

func (actionHandle) Get(_ context.Context, v any) error {
	switch v := v.(type) {
	case *workflows.DecisionResult:
		*v = workflows.DecisionResult{State: workflows.GateApproved, Approvals: 1, Quorum: 1}
	case *workflows.Hold:
		*v = workflows.Hold{Step: "isolate", Undo: "defender.unisolate_machine"}
	case *workflows.GuardState:
		*v = workflows.GuardState{SafeMode: true}
	default:
		return fmt.Errorf("fake: Update result %T", v)
	}
	return nil
}

// README (Security model): accepted API calls are recorded at info level —
// "audit: approval decision", "audit: rollback", "audit: extend
// containment" and "audit: safe mode" — naming the person; no record
// carries a token or a seal's MAC.
func TestAuditRecordsOfAcceptedActions(t *testing.T) {
	keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("api test decision key, 32 bytes!")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, body string
		status           int
		msg              string
		// attrs must be in the record, besides the person (user).
		attrs map[string]any
	}{
		{"approval decision", "/v1/runs/w1/approvals", `{"step":"isolate","decision":"approve","reason":"confirmed"}`, http.StatusOK,
			"audit: approval decision", map[string]any{"workflow_id": "w1", "step": "isolate", "decision": "approve", "via": "api", "result": "ok"}},
		{"rollback", "/v1/runs/w1/rollback", `{}`, http.StatusAccepted,
			"audit: rollback", map[string]any{"workflow_id": "w1", "run_id": "r1", "undo": float64(1), "existing": false}},
		// The run rolled back is recorded: run_id names an earlier run
		// (one a reset of another run terminated) as well as the latest.
		{"rollback naming the run", "/v1/runs/w1/rollback", `{"run_id":"r1"}`, http.StatusAccepted,
			"audit: rollback", map[string]any{"workflow_id": "w1", "run_id": "r1", "undo": float64(1), "existing": false}},
		{"extend containment", "/v1/runs/w1/extend", `{"step":"isolate","by":"2h"}`, http.StatusOK,
			"audit: extend containment", map[string]any{"workflow_id": "w1", "step": "isolate", "by": "2h", "result": "ok"}},
		{"safe mode", "/v1/policy/safe-mode", `{"enabled":true}`, http.StatusOK,
			"audit: safe mode", map[string]any{"enabled": true, "result": "ok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, toks, _ := identityServer(t, &fakeStarter{})
			var logs bytes.Buffer
			srv.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
			c := &actionClient{runClient: &runClient{t: t, attrs: map[string]any{"PlaybookName": "pb", "RunStatus": "succeeded", "RunMode": playbook.ModeLive},
				result: workflows.Result{Playbook: "pb", Status: "succeeded", Steps: rollbackRun(playbook.ModeLive, false).Steps}}}
			srv.Temporal, srv.Keys = c, keys
			srv.Approvals = &approvals.Service{Client: c, Namespace: "default", Keys: keys, UpdateTimeout: time.Minute}
			token := toks["approver"] // U0SOCLEAD1, approve and operate
			if got := serve(srv.Handler(), post(tc.path, "Bearer "+token, tc.body)); got.code != tc.status {
				t.Fatalf("status %d, want %d: %s", got.code, tc.status, got.body)
			}
			var found []map[string]any
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if rec["msg"] == tc.msg {
					found = append(found, rec)
				}
			}
			if len(found) != 1 {
				t.Fatalf("%d %q records, want 1:\n%s", len(found), tc.msg, logs.String())
			}
			rec := found[0]
			if rec["level"] != "INFO" || rec["user"] != "U0SOCLEAD1" {
				t.Errorf("record %v: want INFO naming the person (user U0SOCLEAD1)", rec)
			}
			for k, want := range tc.attrs {
				if rec[k] != want {
					t.Errorf("record %v: %s = %v, want %v", rec, k, rec[k], want)
				}
			}
			if tc.msg == "audit: approval decision" && !strings.HasSuffix(fmt.Sprint(rec["principal"]), "(U0SOCLEAD1)") {
				t.Errorf("record %v: principal does not name the token's person", rec)
			}
			// Neither the bearer token nor the MAC of the request's seal
			// reaches the log (the seal was made: a MAC exists to leak).
			if len(c.seals) != 1 || c.seals[0] == nil || c.seals[0].MAC == "" {
				t.Fatalf("seals %+v: want the one seal of the request", c.seals)
			}
			if strings.Contains(logs.String(), token) {
				t.Errorf("the log holds the bearer token:\n%s", logs.String())
			}
			if strings.Contains(logs.String(), c.seals[0].MAC) {
				t.Errorf("the log holds the seal's MAC %s:\n%s", c.seals[0].MAC, logs.String())
			}
		})
	}
}
