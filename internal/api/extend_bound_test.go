package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/workflows"
)

// An extension is a human re-confirming a containment for a while: at most
// 365d at a time (playbook.MaxContainFor, the longest contain_for too). The
// API refused "3000000h" as "not a positive duration" (it is too large),
// accepted "2562047h" (a hold until the year 2896) and said nothing
// specific of "-4h". Each is a 400 saying what is wrong, naming the limit;
// nothing reaches the run.
func TestExtendOutOfBoundsIsRefusedNamingTheLimit(t *testing.T) {
	srv, toks, _ := identityServer(t, &fakeStarter{})
	keys, err := signing.NewKeys("k1", map[string][]byte{"k1": []byte("api test decision key, 32 bytes!")})
	if err != nil {
		t.Fatal(err)
	}
	srv.Keys = keys
	c := mocks.NewClient(t) // no UpdateWorkflow expected but the last
	srv.Temporal = c
	for _, tc := range []struct{ by, want string }{
		{"2562047h", `by: "2562047h" is longer than 365d`},
		{"3000000h", `by: "3000000h" is longer than 365d`},
		{"366d", `by: "366d" is longer than 365d`},
		{"-4h", `by: "-4h" is negative`},
		{"0s", `by: "0s" is zero`},
		{"0", `by: "0" is zero: give a positive duration such as 4h (at most 365d)`},
		{"forever", `by: "forever" is not a duration; use e.g. 30m, 4h or 2d`},
	} {
		got := serve(srv.Handler(), post("/v1/runs/w1/extend", "Bearer "+toks["approver"], `{"step":"isolate","by":"`+tc.by+`"}`))
		var pr struct{ Title, Detail string }
		_ = json.Unmarshal([]byte(got.body), &pr)
		if got.code != http.StatusBadRequest || pr.Title != "Malformed request" || !strings.Contains(pr.Detail, tc.want) {
			t.Errorf("by %s: %d %s; want 400 saying %q", tc.by, got.code, got.body, tc.want)
		}
	}
	// The limit itself is taken.
	h := mocks.NewWorkflowUpdateHandle(t)
	c.On("UpdateWorkflow", mock.Anything, mock.MatchedBy(func(o client.UpdateWorkflowOptions) bool {
		req, ok := o.Args[0].(workflows.ExtendRequest)
		return ok && o.WorkflowID == "w1" && req.By.String() == "365d"
	})).Return(h, nil).Once()
	h.On("Get", mock.Anything, mock.Anything).Return(nil).Once()
	if got := serve(srv.Handler(), post("/v1/runs/w1/extend", "Bearer "+toks["approver"], `{"step":"isolate","by":"365d"}`)); got.code != http.StatusOK {
		t.Errorf("by 365d: %d %s; want 200", got.code, got.body)
	}
}
