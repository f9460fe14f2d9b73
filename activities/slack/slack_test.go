package slack_test

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
)

// postWithRetries runs slack.post_message the way a playbook step does:
// in a workflow, with Temporal's retries.
func postWithRetries(t *testing.T, fake *slackfake.Server, channel string) (map[string]any, error) {
	t.Helper()
	poster, err := slackapp.NewPoster(slackapp.Config{BotToken: slackfake.BotToken, APIURL: fake.URL(), ApprovalChannel: "C0RIPOSTE1"}, slackapp.PosterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env := activities.NewEnv(nil)
	env.Slack = poster
	var suite testsuite.WorkflowTestSuite
	wenv := suite.NewTestWorkflowEnvironment()
	activities.Register(wenv, env)
	wf := func(ctx workflow.Context, call activities.Call) (map[string]any, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 1, MaximumAttempts: 4},
		})
		var out map[string]any
		err := workflow.ExecuteActivity(ctx, call.Action, call).Get(ctx, &out)
		return out, err
	}
	wenv.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "post"})
	wenv.ExecuteWorkflow("post", activities.Call{Action: "slack.post_message", WorkflowID: "wf-1", RunID: "r", StepID: "notify",
		IdempotencyKey: "wf-1/notify/0", Params: map[string]any{"channel": channel, "text": "Host fin-ws-042 contained"}})
	if !wenv.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := wenv.GetWorkflowError(); err != nil {
		return nil, err
	}
	var out map[string]any
	if err := wenv.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

// Slack posts, but the answer is lost (a gateway 504). The retry finds the
// message by its metadata instead of posting it again.
func TestLostAnswerPostsOnce(t *testing.T) {
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.LoseNext("chat.postMessage", 1)
	out, err := postWithRetries(t, fake, "C0SOC00001")
	if err != nil {
		t.Fatal(err)
	}
	if n := fake.Posted("C0SOC00001"); n != 1 {
		t.Errorf("messages posted = %d, want 1", n)
	}
	if out["already"] != true || out["ts"] == "" {
		t.Errorf("output = %v", out)
	}
}

// A channel name cannot be read back (conversations.history takes IDs):
// an uncertain failure is not retried, and says why.
func TestLostAnswerToChannelNameIsNotRetried(t *testing.T) {
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.LoseNext("chat.postMessage", 1)
	_, err := postWithRetries(t, fake, "#soc-alerts")
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != "SlackUncertain" {
		t.Fatalf("err = %v", err)
	}
	if n := fake.Posted("#soc-alerts"); n != 1 {
		t.Errorf("messages posted = %d, want 1", n)
	}
}

// Slack's own refusals and rate limits are certain: they are retried and
// post once.
func TestRateLimitIsRetriedAndPostsOnce(t *testing.T) {
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.RateLimit("chat.postMessage", time.Second, 1)
	out, err := postWithRetries(t, fake, "#soc-alerts")
	if err != nil {
		t.Fatal(err)
	}
	if n := fake.Posted("#soc-alerts"); n != 1 || out["already"] != false {
		t.Errorf("posted %d, output %v", n, out)
	}
}
