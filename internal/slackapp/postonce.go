package slackapp

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"
)

// Posting once. A chat.postMessage whose answer is lost (timeout, 5xx
// from a gateway) may or may not have posted. Each message Riposte posts
// for a step carries the step's idempotency key in message metadata
// (event_type riposte_step), and a retry first reads the channel's recent
// history (conversations.history with include_all_metadata) for it.

// StepEventType is the metadata event_type of messages posted for a step.
const StepEventType = "riposte_step"

// PostTextOnce posts text like PostText, tagged with key in the message's
// metadata so FindPosted can find it.
func (p *Poster) PostTextOnce(ctx context.Context, channel, text, key string) (string, string, error) {
	return p.postText(ctx, channel, text,
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: StepEventType, EventPayload: map[string]any{"idempotency_key": key}}))
}

// FindPosted's bounds: the latest findMaxMessages messages since `since`,
// in at most findMaxPages pages. Slack caps a page at 15 messages for apps
// not approved for the Marketplace, 1 request a minute ("Rate limit changes
// for non-Marketplace apps", changelog 2025-05-29,
// api.slack.com/changelog/2025-05-terms-rate-limit-update-and-faq), and
// may return fewer than limit although there are more
// (conversations.history), so the pages are counted too.
const (
	findMaxMessages = 200
	findMaxPages    = 20
)

// HistoryScan is how far a FindPosted search got: the cursor of the next
// page and what was read so far. A search cut short by a rate limit goes on
// from there on the next attempt; starting over would, at 1 request a
// minute, never get past the second page.
type HistoryScan struct {
	Cursor  string `json:"cursor,omitempty"`
	Scanned int    `json:"scanned,omitempty"`
	Pages   int    `json:"pages,omitempty"`
}

// FindPosted looks through the channel's messages since `since` (zero:
// any), newest first and findMaxMessages at most, for one this bot posted
// with key in its metadata, following conversations.history's cursor from
// page to page. scan (may be nil) is where an earlier search stopped; it is
// updated as pages are read, so after an error (a rate limit: retryable,
// with Slack's delay) the caller can keep it for the retry. channelID must
// be an ID: conversations.history does not take names. Needs the
// channels:history (groups:history for private channels) scope.
func (p *Poster) FindPosted(ctx context.Context, channelID, key string, since time.Time, scan *HistoryScan) (string, bool, error) {
	if scan == nil {
		scan = &HistoryScan{}
	}
	for scan.Scanned < findMaxMessages && scan.Pages < findMaxPages {
		params := &slack.GetConversationHistoryParameters{ChannelID: channelID, Cursor: scan.Cursor,
			Limit: findMaxMessages - scan.Scanned, IncludeAllMetadata: true}
		if !since.IsZero() {
			params.Oldest = strconv.FormatInt(since.Unix(), 10) + ".000000"
		}
		res, err := p.api.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return "", false, classify("conversations.history", channelID, err)
		}
		scan.Pages++
		scan.Scanned += len(res.Messages)
		for _, m := range res.Messages {
			if m.Metadata.EventType != StepEventType || !p.ownMessage(m) {
				continue
			}
			if k, _ := m.Metadata.EventPayload["idempotency_key"].(string); k == key {
				return m.Timestamp, true, nil
			}
		}
		if !res.HasMore || res.ResponseMetaData.NextCursor == "" {
			return "", false, nil
		}
		scan.Cursor = res.ResponseMetaData.NextCursor
	}
	p.logger.Warn("slack: stopped looking for an earlier post of the step in the channel history; it may be posted twice",
		"channel", channelID, "messages_read", scan.Scanned, "pages", scan.Pages)
	return "", false, nil
}

// ownMessage reports whether this app (Config.AppID) posted m: history
// with include_all_metadata holds every app's metadata, and another app's
// message with the same key is not our earlier post. Without an AppID
// (only tests and tools: Validate requires it) every message is taken.
func (p *Poster) ownMessage(m slack.Message) bool {
	if p.cfg.AppID == "" {
		return true
	}
	return m.BotProfile != nil && m.BotProfile.AppID == p.cfg.AppID
}

// IsChannelID reports whether channel is a conversation ID (C…, G…, D…)
// rather than a name.
func IsChannelID(channel string) bool {
	if len(channel) < 9 {
		return false
	}
	switch channel[0] {
	case 'C', 'G', 'D':
	default:
		return false
	}
	for _, r := range channel {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Uncertain reports whether err leaves it unknown whether Slack acted: a
// timeout or an error answer from something between us and Slack, as
// opposed to Slack's own refusal or rate limit.
func Uncertain(err error) bool {
	return err != nil && (errType(err) == ErrTypeUnavailable || isDeadline(err))
}

func errType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

func isDeadline(err error) bool { return errors.Is(err, context.DeadlineExceeded) }
