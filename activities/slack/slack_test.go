package slack_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
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
	return postWithRetriesThen(t, fake, channel, nil, nil)
}

// postWithRetriesThen is postWithRetries calling beforeRetry before each
// attempt after the first, and Slack through hc (nil: the default).
func postWithRetriesThen(t *testing.T, fake *slackfake.Server, channel string, beforeRetry func(), hc *http.Client) (map[string]any, error) {
	t.Helper()
	poster, err := slackapp.NewPoster(slackapp.Config{BotToken: slackfake.BotToken, APIURL: fake.URL(), ApprovalChannel: "C0RIPOSTE1"}, slackapp.PosterOptions{HTTPClient: hc})
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
	wenv.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.Attempt > 1 && beforeRetry != nil {
			beforeRetry()
		}
	})
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

// The answer is lost, and the channel is busy: more messages arrive before
// the retry than Slack returns in a page (15 for apps not approved for the
// Marketplace). The retry pages back to the lost post and posts nothing.
func TestLostAnswerInBusyChannelPostsOnce(t *testing.T) {
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.LoseNext("chat.postMessage", 1)
	others := slack.New(slackfake.BotToken, slack.OptionAPIURL(fake.URL()))
	out, err := postWithRetriesThen(t, fake, "C0SOC00001", func() {
		for i := range 20 {
			if _, _, err := others.PostMessage("C0SOC00001", slack.MsgOptionText(fmt.Sprintf("chatter %d", i), false)); err != nil {
				t.Error(err)
			}
		}
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := fake.Posted("C0SOC00001"); n != 1+20 {
		t.Errorf("messages posted = %d, want 1 and the 20 others", n)
	}
	if out["already"] != true || out["ts"] == "" {
		t.Errorf("output = %v", out)
	}
}

// historyLimiter rate-limits one conversations.history call (the nth), as
// Slack's 1 request a minute for apps outside the Marketplace does.
type historyLimiter struct {
	fake   *slackfake.Server
	nth    int
	calls  []string // the cursor of each call
	oldest []string
}

func (l *historyLimiter) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/conversations.history") {
		if err := r.ParseForm(); err == nil {
			r.Body = io.NopCloser(strings.NewReader(r.PostForm.Encode()))
		}
		l.oldest = append(l.oldest, r.PostForm.Get("oldest"))
		if l.calls = append(l.calls, r.PostForm.Get("cursor")); len(l.calls) == l.nth {
			l.fake.RateLimit("conversations.history", time.Minute, 1)
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// Rate limited between two pages of history: the next attempt goes on from
// the page it stopped at, finds the post and posts nothing.
func TestRateLimitWhileReadingHistoryPostsOnce(t *testing.T) {
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.LoseNext("chat.postMessage", 1)
	others := slack.New(slackfake.BotToken, slack.OptionAPIURL(fake.URL()))
	limiter := &historyLimiter{fake: fake, nth: 2}
	chatter := false
	start := time.Now()
	out, err := postWithRetriesThen(t, fake, "C0SOC00001", func() {
		if chatter {
			return
		}
		chatter = true
		for i := range 20 {
			if _, _, err := others.PostMessage("C0SOC00001", slack.MsgOptionText(fmt.Sprintf("chatter %d", i), false)); err != nil {
				t.Error(err)
			}
		}
	}, &http.Client{Transport: limiter})
	if err != nil {
		t.Fatal(err)
	}
	if n := fake.Posted("C0SOC00001"); n != 1+20 || out["already"] != true {
		t.Errorf("messages posted = %d (want 1 and the 20 others), output %v", n, out)
	}
	if c := limiter.calls; len(c) != 3 || c[0] != "" || c[1] == "" || c[2] != c[1] {
		t.Errorf("conversations.history cursors %q: want the first page, the second (rate limited), the second again", c)
	}
	// Only what was posted since the first attempt (less a minute of skew).
	for _, o := range limiter.oldest {
		secs, err := strconv.ParseInt(strings.TrimSuffix(o, ".000000"), 10, 64)
		if err != nil || secs < start.Add(-time.Minute).Unix() || secs > time.Now().Add(-time.Minute).Unix() {
			t.Errorf("oldest = %q, want the first attempt's time less a minute (%d)", limiter.oldest, start.Add(-time.Minute).Unix())
			break
		}
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
