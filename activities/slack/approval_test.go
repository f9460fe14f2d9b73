package slack_test

import (
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	slackact "github.com/riposte-dev/riposte/activities/slack"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/workflows"
)

// openGateWithRetries runs the approval activity the way a run opens a gate:
// in a workflow, with the retry policy of workflows' openGate (5 attempts).
func openGateWithRetries(t *testing.T, fake *slackfake.Server, req workflows.GateRequest) workflows.GateOpened {
	t.Helper()
	poster, err := slackapp.NewPoster(slackapp.Config{BotToken: slackfake.BotToken, APIURL: fake.URL(), ApprovalChannel: "C0RIPOSTE1"}, slackapp.PosterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	wenv := suite.NewTestWorkflowEnvironment()
	slackact.RegisterApproval(wenv, poster)
	wf := func(ctx workflow.Context, req workflows.GateRequest) (workflows.GateOpened, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5, InitialInterval: time.Second},
		})
		var out workflows.GateOpened
		err := workflow.ExecuteActivity(ctx, workflows.ActivityOpenGate, req).Get(ctx, &out)
		return out, err
	}
	wenv.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "open"})
	wenv.ExecuteWorkflow("open", req)
	if !wenv.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := wenv.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out workflows.GateOpened
	if err := wenv.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Slack posts the approval request, but its answer is lost on the way (a
// gateway 504 after Slack acted, as slack.post_message's tests simulate).
// The activity's retry must not post a second request: the run records only
// the second message's ts, so the first one stays in the channel with live
// Approve/Deny buttons whose clicks are refused as "out of date (the gate
// was escalated)", and it is never updated when the gate closes.
func TestOpenGateLostAnswerPostsOnce(t *testing.T) {
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.LoseNext("chat.postMessage", 1)
	req := workflows.GateRequest{WorkflowID: "det-1", RunID: "r1", GateID: "isolate", StepID: "isolate",
		Playbook: "ransomware", Action: "crowdstrike.contain_host", Users: []string{"U0SOCLEAD1"},
		ExpiresAt: time.Unix(1767326125, 0).Add(30 * time.Minute)}
	opened := openGateWithRetries(t, fake, req)
	if n := fake.Posted("C0RIPOSTE1"); n != 1 {
		t.Fatalf("%d approval requests posted for one gate, want 1 (the run knows only ts %s)", n, opened.MessageTS)
	}
	conv := fake.Conversation()
	if len(conv) != 1 || opened.MessageTS != conv[0].TS || opened.Channel != "C0RIPOSTE1" || !opened.Posted {
		t.Fatalf("opened %+v; the channel holds %+v", opened, conv)
	}
}

// A first attempt that posted nothing (Slack said ratelimited) is retried
// and posts the request once; a gate's message is never taken for
// another's (each carries its own activity's key).
func TestOpenGateRetryAfterRefusalPostsOnce(t *testing.T) {
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	req := workflows.GateRequest{WorkflowID: "det-2", RunID: "r1", GateID: "isolate", StepID: "isolate",
		Playbook: "ransomware", Action: "crowdstrike.contain_host", Users: []string{"U0SOCLEAD1"}}
	first := openGateWithRetries(t, fake, req)
	fake.RateLimit("chat.postMessage", time.Second, 1)
	req.WorkflowID = "det-3"
	second := openGateWithRetries(t, fake, req)
	if n := fake.Posted("C0RIPOSTE1"); n != 2 || first.MessageTS == second.MessageTS {
		t.Fatalf("%d messages for two gates; ts %s and %s", n, first.MessageTS, second.MessageTS)
	}
}

// Without channels:history (an app created before the scope was in the
// manifest) the retry cannot look, and posts again rather than leave the
// gate without a message.
func TestOpenGateRetryWithoutHistoryScopeStillPosts(t *testing.T) {
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.LoseNext("chat.postMessage", 1)
	fake.FailNext("conversations.history", "missing_scope")
	req := workflows.GateRequest{WorkflowID: "det-4", RunID: "r1", GateID: "isolate", StepID: "isolate",
		Playbook: "ransomware", Action: "crowdstrike.contain_host", Users: []string{"U0SOCLEAD1"}}
	opened := openGateWithRetries(t, fake, req)
	if !opened.Posted || opened.MessageTS == "" {
		t.Fatalf("opened %+v", opened)
	}
}
