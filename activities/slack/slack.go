// Package slack holds the slack.* actions. Slack approvals (gates) are in
// internal/slackapp; the client both use is connector.Env.Slack.
package slack

import (
	"context"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/slackapp"
)

// Definitions are the Slack actions.
//
// slack.post_message posts its text as plain text: playbooks often put
// detection data in it, which is untrusted, so &, < and > are escaped (no
// <!channel>, <@U…> mention or <url|label> link can be smuggled in), mrkdwn
// formatting is off, @names are not linked (link_names false) and links
// are not unfurled. Control, bidi and invisible characters are dropped.
// Bare URLs stay visible as text.
func Definitions() []connector.Definition {
	return []connector.Definition{{
		Action: catalog.Action{
			Name:   "slack.post_message",
			Vendor: "slack",
			Description: "Posts a plain-text message to a Slack channel. The text is escaped, so nothing in it can " +
				"mention people or hide links; mrkdwn formatting is off; control, bidi and invisible characters are dropped. Needs SLACK_BOT_TOKEN and the bot in the channel " +
				"(or the chat:write.public scope).",
			Risk:     catalog.RiskNotify,
			Progress: true,
			Params: []catalog.Param{
				{Name: "channel", Type: catalog.TypeString, Required: true, Description: "Channel ID (C…) or name to post to."},
				{Name: "text", Type: catalog.TypeString, Required: true, Description: "Message text, shown as plain text. Slack takes 40,000 characters once &, < and > are escaped (each becomes 4-5 characters); a longer text is clipped between characters and ends with a line saying how many characters were left out."},
			},
			Outputs: []catalog.Field{
				{Name: "channel", Type: catalog.TypeString, Description: "ID of the channel the message was posted to."},
				{Name: "ts", Type: catalog.TypeString, Description: "Timestamp (ID) of the posted message."},
				{Name: "already", Type: catalog.TypeBool, Description: "True when an earlier attempt of this step had posted the message (found by its metadata), so nothing was posted again."},
				{Name: "clipped", Type: catalog.TypeInt, Description: "How many characters of the text were left out to fit Slack's limit (0: none)."},
			},
		},
		Run: slackPostMessage,
	}}
}

func slackPostMessage(ctx context.Context, env *connector.Env, call connector.Call) (map[string]any, error) {
	if env == nil || env.Slack == nil {
		return nil, connector.NonRetryable("SlackNotConfigured", "Slack is not configured: set SLACK_BOT_TOKEN")
	}
	channel, _ := call.Params["channel"].(string)
	channel = strings.TrimSpace(channel)
	if channel == "" {
		return nil, connector.NonRetryable(connector.KindInvalidParams, "slack.post_message: channel must be a non-empty string")
	}
	text, ok := call.Params["text"].(string)
	// Control, bidi and invisible characters from detection text are
	// dropped (connector.ShownText); line breaks and tabs stay.
	text = connector.ShownText(text)
	if !ok || strings.TrimSpace(text) == "" {
		return nil, connector.NonRetryable(connector.KindInvalidParams, "slack.post_message: text must be a non-empty string")
	}
	// Slack's limit applies to the text as it receives it, escaped: a text
	// that does not fit is clipped, and says so, rather than refused by
	// Slack (msg_too_long) or cut by it mid-entity.
	text, clipped := slackapp.ClipMessageText(text, slackapp.MaxMessageText)
	if clipped > 0 {
		if env.Logger != nil {
			env.Logger.Warn("slack.post_message: text clipped to Slack's limit", "workflow_id", call.WorkflowID, "step", call.StepID, "characters_left_out", clipped)
		}
	}
	key := connector.IdemKey(call)
	if key == "" {
		ch, ts, err := env.Slack.PostText(ctx, channel, text)
		if err != nil {
			return nil, err
		}
		return map[string]any{"channel": ch, "ts": ts, "already": false, "clipped": clipped}, nil
	}
	// Post once: a retry after an uncertain failure first looks for the
	// message an earlier attempt may have posted.
	var prev postProgress
	retrying := connector.LoadProgress(ctx, &prev) || connector.Attempt(ctx) > 1
	if retrying {
		if slackapp.IsChannelID(channel) {
			// Only the messages since the first attempt began posting (less
			// a margin for the skew between our clock and Slack's), or the
			// latest 200 when that is unknown.
			var since time.Time
			if prev.Since > 0 {
				since = time.Unix(prev.Since, 0).Add(-postClockSkew)
			}
			ts, found, err := env.Slack.FindPosted(ctx, channel, key, since, &prev.Scan)
			if err != nil {
				// Rate limited mid-search: the retry goes on from here.
				connector.SaveProgress(ctx, prev)
				return nil, err
			}
			if found {
				return map[string]any{"channel": channel, "ts": ts, "already": true, "clipped": clipped}, nil
			}
		}
	}
	started := prev.Since
	if started == 0 && !retrying {
		started = time.Now().Unix()
	}
	// A new post is newer than anything a search read: the next search
	// starts over from the newest message.
	connector.SaveProgress(ctx, postProgress{Posting: true, Since: started})
	ch, ts, err := env.Slack.PostTextOnce(ctx, channel, text, key)
	if err != nil {
		if slackapp.Uncertain(err) && !slackapp.IsChannelID(channel) {
			// Without a channel ID the history cannot be read, so a retry
			// could post twice.
			return nil, connector.NonRetryable("SlackUncertain", "slack.post_message: Slack did not confirm the post to %q (%v); it may have been posted, so it is not retried. Give the channel as an ID (C…) so a retry can check first", channel, err)
		}
		return nil, err
	}
	return map[string]any{"channel": ch, "ts": ts, "already": false, "clipped": clipped}, nil
}

// postProgress is saved in the heartbeat details before posting.
type postProgress struct {
	Posting bool `json:"posting"`
	// Since is when the first attempt began posting (Unix seconds): a
	// retry reads the history from then on only. 0 in progress saved
	// before it was recorded.
	Since int64 `json:"since,omitempty"`
	// Scan is where a history search cut short by a rate limit stopped.
	Scan slackapp.HistoryScan `json:"scan,omitzero"`
}

// postClockSkew is how much earlier than Since a retry reads, for the
// skew between this host's clock and Slack's message timestamps.
const postClockSkew = time.Minute
