package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/problem"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// approvalClient is a Temporal client for the approval service: the runs a
// visibility query finds and their gates (a run missing from gates fails its
// query, as one that just ended), and how the run answers an Update: with
// result, refusing with refusal, or never (no worker is up: the Update
// waits until its context ends). Signals are recorded.
type approvalClient struct {
	client.Client // nil: only the methods below are used
	runs          []string
	gates         map[string][]workflows.Gate
	listErr       error
	more          bool // the listing has a next page
	noWorker      bool
	result        workflows.DecisionResult
	refusal       string

	mu      sync.Mutex
	queries []string
	updates []client.UpdateWorkflowOptions
	signals []approvalSignal
}

type approvalSignal struct {
	workflowID, name string
	arg              any
}

func (c *approvalClient) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	c.mu.Lock()
	c.queries = append(c.queries, req.GetQuery())
	c.mu.Unlock()
	if c.listErr != nil {
		return nil, c.listErr
	}
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	if c.more {
		resp.NextPageToken = []byte("more")
	}
	for _, id := range c.runs {
		resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "run-" + id}})
	}
	return resp, nil
}

func (c *approvalClient) QueryWorkflow(_ context.Context, id, runID, query string, _ ...any) (converter.EncodedValue, error) {
	gates, ok := c.gates[id]
	if !ok || query != workflows.QueryGates || runID != "run-"+id {
		return nil, errors.New("query failed: workflow ended")
	}
	return jsonValue{gates}, nil
}

func (c *approvalClient) UpdateWorkflow(ctx context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	c.mu.Lock()
	c.updates = append(c.updates, o)
	c.mu.Unlock()
	if c.noWorker {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return decisionHandle{c: c}, nil
}

func (c *approvalClient) SignalWorkflow(_ context.Context, id, _, name string, arg any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.signals = append(c.signals, approvalSignal{id, name, arg})
	return nil
}

type decisionHandle struct {
	client.WorkflowUpdateHandle // nil: only Get is used
	c                           *approvalClient
}

func (h decisionHandle) Get(_ context.Context, v any) error {
	if h.c.refusal != "" {
		return temporal.NewApplicationError(h.c.refusal, "")
	}
	*v.(*workflows.DecisionResult) = h.c.result
	return nil
}

// approvalServer is identityServer with an approval service on c.
func approvalServer(t *testing.T, c *approvalClient) (http.Handler, map[string]string, *signing.Keys) {
	t.Helper()
	srv, toks, _ := identityServer(t, &fakeStarter{})
	keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("api test decision key, 32 bytes!")})
	if err != nil {
		t.Fatal(err)
	}
	srv.Temporal = c
	// The wait for a worker only runs out where no worker is up: elsewhere
	// it must not, however loaded the machine.
	wait := time.Minute
	if c.noWorker {
		wait = 50 * time.Millisecond
	}
	srv.Approvals = &approvals.Service{Client: c, Namespace: "default", Keys: keys, UpdateTimeout: wait}
	return srv.Handler(), toks, keys
}

// GET /v1/approvals lists the gates waiting for people: the pending gates
// of the running runs whose approval state is pending or escalated.
func TestAPIListApprovals(t *testing.T) {
	opened := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	gate := func(id, state string) workflows.Gate {
		return workflows.Gate{ID: id, StepID: id, State: state, Approvers: []string{"U0SOCLEAD1"}, Quorum: 1,
			Action: "defender.isolate_machine", OpenedAt: opened, ExpiresAt: opened.Add(time.Hour)}
	}
	type listed struct{ WorkflowID, RunID, Gate string }
	for _, tc := range []struct {
		name   string
		c      *approvalClient
		status int
		want   []listed
	}{
		{"pending gates of each run", &approvalClient{runs: []string{"w1", "w2", "w3"}, gates: map[string][]workflows.Gate{
			"w1": {gate("isolate", workflows.GatePending), gate("notify", workflows.GateApproved)},
			// w2 ended between the list and the query: skipped.
			"w3": {gate("block", workflows.GateDenied), gate("disable", workflows.GatePending)},
		}}, http.StatusOK, []listed{{"w1", "run-w1", "isolate"}, {"w3", "run-w3", "disable"}}},
		{"none waiting", &approvalClient{}, http.StatusOK, []listed{}},
		{"visibility unavailable", &approvalClient{listErr: errors.New("visibility store down")}, http.StatusBadGateway, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, toks, _ := approvalServer(t, tc.c)
			r := httptest.NewRequest("GET", "/v1/approvals", nil)
			r.Header.Set("Authorization", "Bearer "+toks["reader"])
			got := serve(h, r)
			if len(tc.c.queries) != 1 || !strings.Contains(tc.c.queries[0], "ExecutionStatus = 'Running'") ||
				!strings.Contains(tc.c.queries[0], "ApprovalState IN ('pending', 'escalated')") {
				t.Errorf("visibility queries %q, want one for running runs waiting for approval", tc.c.queries)
			}
			if tc.status != http.StatusOK {
				checkProblem(t, got, problem.Problem{Title: "Cannot list approvals", Status: tc.status,
					Detail: "listing runs waiting for approval: visibility store down"})
				return
			}
			var body struct {
				Approvals []approvals.OpenGate `json:"approvals"`
			}
			if err := json.Unmarshal([]byte(got.body), &body); err != nil || got.code != http.StatusOK || body.Approvals == nil {
				t.Fatalf("status %d, body %s (%v); want 200 with an approvals list", got.code, got.body, err)
			}
			out := []listed{}
			for _, g := range body.Approvals {
				out = append(out, listed{g.WorkflowID, g.RunID, g.Gate.ID})
				if g.Gate.State != workflows.GatePending || len(g.Gate.Approvers) != 1 || g.Gate.Action == "" {
					t.Errorf("gate %+v: want the pending gate with its approvers and action", g.Gate)
				}
			}
			if mustJSON(t, out) != mustJSON(t, tc.want) {
				t.Errorf("listed %v, want %v", out, tc.want)
			}
		})
	}
}

// A decision is answered 200 with the gate's state when the run takes it,
// 409 with the rule when the gate's rules refuse it, and 202 when no
// worker is up: it is then sent as a sealed signal, which the run checks by
// the same rules when a worker runs.
func TestAPIDecisionAnswers(t *testing.T) {
	const rule = "four-eyes: U0SOCLEAD1 submitted this run and may not approve its gates"
	for _, tc := range []struct {
		name    string
		c       *approvalClient
		status  int
		body    string // exact JSON answer (problem documents checked whole)
		signals int
	}{
		{"the run takes it", &approvalClient{result: workflows.DecisionResult{State: workflows.GateApproved, Approvals: 1, Quorum: 1}},
			http.StatusOK, `{"state":"approved","approvals":1,"quorum":1}`, 0},
		{"the gate's rules refuse it", &approvalClient{refusal: rule}, http.StatusConflict, "", 0},
		{"no worker is up", &approvalClient{noWorker: true}, http.StatusAccepted,
			`{"detail":"no worker answered; the decision was queued and will be checked when a worker runs","queued":true}`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, toks, keys := approvalServer(t, tc.c)
			got := serve(h, post("/v1/runs/w1/approvals", "Bearer "+toks["approver"], `{"step":"isolate","decision":"approve","reason":"confirmed"}`))
			if tc.status == http.StatusConflict {
				checkProblem(t, got, problem.Problem{Title: "Decision refused", Status: 409, Detail: rule})
			} else if b := new(bytes.Buffer); got.code != tc.status || json.Compact(b, []byte(got.body)) != nil || b.String() != tc.body {
				t.Errorf("status %d, body %s; want %d %s", got.code, got.body, tc.status, tc.body)
			}
			if len(tc.c.updates) != 1 || tc.c.updates[0].WorkflowID != "w1" || tc.c.updates[0].UpdateName != workflows.UpdateDecide {
				t.Errorf("updates %+v, want one %s Update of w1", tc.c.updates, workflows.UpdateDecide)
			}
			if len(tc.c.signals) != tc.signals {
				t.Fatalf("%d signals, want %d", len(tc.c.signals), tc.signals)
			}
			for _, s := range tc.c.signals {
				d, ok := s.arg.(workflows.Decision)
				if s.workflowID != "w1" || s.name != workflows.SignalDecide || !ok || d.GateID != "isolate" || !d.Approve ||
					d.User != "U0SOCLEAD1" || d.Via != workflows.ViaAPI || keys.Verify(workflows.DecisionClaim("w1", d), d.Seal) != nil {
					t.Errorf("signal %+v: want the sealed decision of U0SOCLEAD1 on w1", s)
				}
			}
		})
	}
}

// More runs wait for approval than one listing reads: the answer says it
// is not all of them.
func TestListApprovalsSaysTruncated(t *testing.T) {
	c := &approvalClient{runs: []string{"w1"}, more: true, gates: map[string][]workflows.Gate{"w1": {{ID: "isolate", StepID: "isolate", State: workflows.GatePending}}}}
	h, toks, _ := approvalServer(t, c)
	r := httptest.NewRequest("GET", "/v1/approvals", nil)
	r.Header.Set("Authorization", "Bearer "+toks["reader"])
	got := serve(h, r)
	var body struct {
		Approvals []approvals.OpenGate `json:"approvals"`
		Truncated bool                 `json:"truncated"`
		Detail    string               `json:"detail"`
	}
	if err := json.Unmarshal([]byte(got.body), &body); err != nil || got.code != http.StatusOK || len(body.Approvals) != 1 || !body.Truncated || !strings.Contains(body.Detail, "wait for approval") {
		t.Errorf("status %d, %+v (%v): %s", got.code, body, err, got.body)
	}
}

// A decision names the credential that authenticated its voter (the
// personal token's id, never the token), covered by the seal, while every
// worker verifies such seals; with a worker of an earlier release polling
// it is left out, since that worker would refuse the seal as forged.
func TestAPIDecisionSealsTheCredential(t *testing.T) {
	for _, workersNew := range []bool{true, false} {
		c := &approvalClient{}
		srv, toks, _ := identityServer(t, &fakeStarter{})
		keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("api test decision key, 32 bytes!")})
		if err != nil {
			t.Fatal(err)
		}
		srv.Temporal = c
		srv.Approvals = &approvals.Service{Client: c, Namespace: "default", Keys: keys, UpdateTimeout: time.Minute,
			SealsCredential: func(context.Context) bool { return workersNew }}
		req := post("/v1/runs/w1/approvals", "Bearer "+toks["approver"], `{"step":"isolate","decision":"approve"}`)
		req.Header.Set("Prefer", "respond-async")
		if got := serve(srv.Handler(), req); got.code != http.StatusAccepted || len(c.signals) != 1 {
			t.Fatalf("workers new %v: %d %s (%d signals)", workersNew, got.code, got.body, len(c.signals))
		}
		d := c.signals[0].arg.(workflows.Decision)
		if err := keys.Verify(workflows.DecisionClaim("w1", d), d.Seal); err != nil {
			t.Errorf("workers new %v: seal does not verify: %v", workersNew, err)
		}
		switch {
		case workersNew && (!strings.HasPrefix(d.Credential, "token:") || len(d.Credential) <= len("token:") || strings.Contains(d.Credential, toks["approver"])):
			t.Errorf("credential %q, want token:<the token's id>", d.Credential)
		case !workersNew && d.Credential != "":
			t.Errorf("credential %q sealed while a worker of an earlier release polls", d.Credential)
		}
		if workersNew {
			forged := d
			forged.Credential = "token:someone-else"
			if keys.Verify(workflows.DecisionClaim("w1", forged), forged.Seal) == nil {
				t.Error("the seal still verifies with another credential")
			}
		}
	}
}

// A decision names its person only through its credential: headers that
// proxies and other products use to say who the caller is (X-Forwarded-User,
// X-Remote-User, Remote-User, X-Auth-Request-User, X-Riposte-User), and
// X-Riposte-Requester, which vouches for a detection's submitter, are
// ignored; the vote is sealed and recorded under the token's identity. A
// ?user= or ?actor= query and an "actor" body field are refused (400), and
// nothing is sent.
func TestAPIDecisionIdentityOnlyFromTheToken(t *testing.T) {
	c := &approvalClient{}
	srv, toks, _ := identityServer(t, &fakeStarter{})
	keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("api test decision key, 32 bytes!")})
	if err != nil {
		t.Fatal(err)
	}
	srv.Temporal = c
	srv.Approvals = &approvals.Service{Client: c, Namespace: "default", Keys: keys, UpdateTimeout: time.Minute,
		SealsCredential: func(context.Context) bool { return true }}
	h := srv.Handler()
	req := post("/v1/runs/w1/approvals", "Bearer "+toks["approver"], `{"step":"isolate","decision":"approve"}`)
	req.Header.Set("Prefer", "respond-async")
	for _, hd := range []string{"X-Forwarded-User", "X-Remote-User", "Remote-User", "X-Auth-Request-User", "X-Riposte-User", "X-Riposte-Requester"} {
		req.Header.Set(hd, "U0INFRA001")
	}
	if got := serve(h, req); got.code != http.StatusAccepted || len(c.signals) != 1 {
		t.Fatalf("%d %s (%d signals)", got.code, got.body, len(c.signals))
	}
	if d := c.signals[0].arg.(workflows.Decision); d.User != "U0SOCLEAD1" || keys.Verify(workflows.DecisionClaim("w1", d), d.Seal) != nil {
		t.Errorf("decision recorded as %q (seal: %v), want the token's U0SOCLEAD1", d.User, keys.Verify(workflows.DecisionClaim("w1", d), d.Seal))
	}
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/runs/w1/approvals?user=U0INFRA001", `{"step":"isolate","decision":"approve"}`, `takes no query parameters; got \"user\"`},
		{"/v1/runs/w1/approvals?actor=U0INFRA001", `{"step":"isolate","decision":"approve"}`, `takes no query parameters; got \"actor\"`},
		{"/v1/runs/w1/approvals", `{"step":"isolate","decision":"approve","actor":"U0INFRA001"}`, `unknown field \"actor\"`},
		{"/v1/runs/w1/approvals", `{"step":"isolate","decision":"approve","user":"U0SOCLEAD1","USER":"U0INFRA001"}`, `is repeated as \"USER\"`},
	} {
		got := serve(h, post(tc.path, "Bearer "+toks["approver"], tc.body))
		if got.code != http.StatusBadRequest || !strings.Contains(got.body, tc.want) {
			t.Errorf("%s %s: %d %s, want 400 saying %s", tc.path, tc.body, got.code, got.body, tc.want)
		}
	}
	if len(c.signals) != 1 || len(c.updates) != 0 {
		t.Errorf("a refused request reached the run: %d signals, %d updates", len(c.signals), len(c.updates))
	}
}
