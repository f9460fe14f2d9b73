package activities

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/workflows"
)

// SlackPoster is the Slack client of the slack.* actions and the approval
// activities (Env.Slack). nil means Slack is not configured.
type SlackPoster = slackapp.Poster

// slackDefinitions are the Slack actions.
//
// slack.post_message posts its text as plain text: playbooks often put
// detection data in it, which is untrusted, so &, < and > are escaped (no
// <!channel>, <@U…> mention or <url|label> link can be smuggled in), mrkdwn
// formatting is off, @names are not linked (link_names false) and links
// are not unfurled. Bare URLs stay visible as text.
func slackDefinitions() []Definition {
	return []Definition{{
		Action: catalog.Action{
			Name:   "slack.post_message",
			Vendor: "slack",
			Description: "Posts a plain-text message to a Slack channel. The text is escaped, so nothing in it can " +
				"mention people or hide links; mrkdwn formatting is off. Needs SLACK_BOT_TOKEN and the bot in the channel " +
				"(or the chat:write.public scope).",
			Risk: catalog.RiskNotify,
			Params: []catalog.Param{
				{Name: "channel", Type: catalog.TypeString, Required: true, Description: "Channel ID (C…) or name to post to."},
				{Name: "text", Type: catalog.TypeString, Required: true, Description: "Message text, shown as plain text (up to 40,000 characters)."},
			},
			Outputs: []catalog.Field{
				{Name: "channel", Type: catalog.TypeString, Description: "ID of the channel the message was posted to."},
				{Name: "ts", Type: catalog.TypeString, Description: "Timestamp (ID) of the posted message."},
			},
		},
		Run: slackPostMessage,
	}}
}

// maxSlackText is chat.postMessage's text limit; longer text is truncated
// by Slack, so it is refused here with a clear message instead.
const maxSlackText = 40000

func slackPostMessage(ctx context.Context, env *Env, call Call) (map[string]any, error) {
	if env == nil || env.Slack == nil {
		return nil, NonRetryable("SlackNotConfigured", "Slack is not configured: set SLACK_BOT_TOKEN")
	}
	channel, _ := call.Params["channel"].(string)
	channel = strings.TrimSpace(channel)
	if channel == "" {
		return nil, NonRetryable("BadParams", "slack.post_message: channel must be a non-empty string")
	}
	text, ok := call.Params["text"].(string)
	if !ok || strings.TrimSpace(text) == "" {
		return nil, NonRetryable("BadParams", "slack.post_message: text must be a non-empty string")
	}
	if n := len([]rune(text)); n > maxSlackText {
		return nil, NonRetryable("BadParams", "slack.post_message: text is %d characters, more than Slack's %d", n, maxSlackText)
	}
	ch, ts, err := env.Slack.PostText(ctx, channel, text)
	if err != nil {
		return nil, err
	}
	return map[string]any{"channel": ch, "ts": ts}, nil
}

// RegisterApproval registers the two internal approval activities,
// workflows.ActivityOpenGate and workflows.ActivityUpdateGate (they are not
// catalog actions). With p nil (no Slack configured, the dev default) the
// gate is not posted anywhere: OpenGate returns the listed users as the
// approvers (user groups cannot be resolved without Slack and are ignored,
// with a warning) and Posted false, and UpdateGate does nothing; decisions
// then come through the API or the CLI.
func RegisterApproval(w worker.ActivityRegistry, p *slackapp.Poster) {
	w.RegisterActivityWithOptions(openGateActivity(p), activity.RegisterOptions{Name: workflows.ActivityOpenGate})
	w.RegisterActivityWithOptions(updateGateActivity(p), activity.RegisterOptions{Name: workflows.ActivityUpdateGate})
}

func openGateActivity(p *slackapp.Poster) func(context.Context, workflows.GateRequest) (workflows.GateOpened, error) {
	return func(ctx context.Context, req workflows.GateRequest) (workflows.GateOpened, error) {
		if p != nil {
			return p.OpenGate(ctx, req)
		}
		approvers := slackapp.SortedUnique(req.Users)
		if len(req.Groups) > 0 {
			activity.GetLogger(ctx).Warn(fmt.Sprintf(
				"approval gate %s: Slack is not configured, so user groups %v cannot be resolved; only the listed users may approve (set SLACK_BOT_TOKEN)",
				req.GateID, req.Groups),
				"workflow_id", req.WorkflowID, "gate", req.GateID)
		}
		return workflows.GateOpened{Approvers: approvers, Posted: false}, nil
	}
}

func updateGateActivity(p *slackapp.Poster) func(context.Context, workflows.GateUpdate) error {
	return func(ctx context.Context, upd workflows.GateUpdate) error {
		if p == nil {
			return nil
		}
		return p.UpdateGate(ctx, upd)
	}
}
