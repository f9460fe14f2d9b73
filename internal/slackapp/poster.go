package slackapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/workflows"
)

// Error types of the Temporal application errors Poster returns, for retry
// policies (NonRetryableErrorTypes) and tests.
const (
	ErrTypeRateLimited     = "SlackRateLimited"
	ErrTypeChannelNotFound = "SlackChannelNotFound"
	ErrTypeNotInChannel    = "SlackNotInChannel"
	ErrTypeAuth            = "SlackAuth"
	ErrTypeMissingScope    = "SlackMissingScope"
	ErrTypeNoChannel       = "SlackNoChannel"
	ErrTypeGroupNotFound   = "SlackGroupNotFound"
	ErrTypeRejected        = "SlackRejected"    // any other ok:false Slack will not change its mind on
	ErrTypeUnavailable     = "SlackUnavailable" // 5xx, Slack-side errors, network: retryable
)

// postClockSkew is how much earlier than GateOnce.Since a search reads,
// for the skew between this host's clock and Slack's message timestamps.
const postClockSkew = time.Minute

// defaultRateLimitDelay is used when Slack says ratelimited without a
// Retry-After header.
const defaultRateLimitDelay = 30 * time.Second

// PosterOptions tunes a Poster.
type PosterOptions struct {
	// HTTPClient calls Slack. Default: a client with a 15s timeout.
	HTTPClient *http.Client
	// Logger gets warnings (unresolvable groups, failed ephemerals).
	Logger *slog.Logger
}

// Poster talks to Slack's Web API: it posts and updates approval requests,
// resolves approver groups, sends ephemeral messages and opens the reason
// modal. It is safe for concurrent use.
type Poster struct {
	api    *slack.Client
	cfg    Config
	logger *slog.Logger
}

// NewPoster returns a Poster for cfg, which must have a bot token.
func NewPoster(cfg Config, opts PosterOptions) (*Poster, error) {
	if !cfg.Enabled() {
		return nil, fmt.Errorf("slack: no bot token: set %s", EnvBotToken)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Poster{api: newClient(cfg, hc), cfg: cfg, logger: logger}, nil
}

// newClient builds the slack-go client for cfg.
func newClient(cfg Config, hc *http.Client) *slack.Client {
	options := []slack.Option{}
	if hc != nil {
		options = append(options, slack.OptionHTTPClient(hc))
	}
	if u := cfg.apiURL(); u != "" {
		options = append(options, slack.OptionAPIURL(u))
	}
	if cfg.AppToken != "" {
		options = append(options, slack.OptionAppLevelToken(cfg.AppToken))
	}
	return slack.New(cfg.BotToken, options...)
}

// Client returns the underlying slack-go client.
func (p *Poster) Client() *slack.Client { return p.api }

// Config returns the configuration the Poster was made with.
func (p *Poster) Config() Config { return p.cfg }

// ResolveApprovers returns users ∪ the members of groups (Slack user-group
// ids), sorted and without duplicates, using usergroups.users.list.
func (p *Poster) ResolveApprovers(ctx context.Context, users, groups []string) ([]string, error) {
	all := append([]string(nil), users...)
	for _, g := range groups {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		members, err := p.api.GetUserGroupMembersContext(ctx, g)
		if err != nil {
			return nil, classify("usergroups.users.list", g, err)
		}
		if len(members) == 0 {
			p.logger.Warn("slack user group has no members", "group", g)
		}
		all = append(all, members...)
	}
	return SortedUnique(all), nil
}

// ErrAccountRefused wraps a click by an account that may not decide gates
// in Slack (CheckDecider).
var ErrAccountRefused = errors.New("slack: this account may not decide")

// CheckDecider asks Slack who user is (users.info, scope users:read) and
// refuses, before a click becomes a decision, an account that is
// deactivated, a bot or app user, a guest (is_restricted: multi-channel,
// is_ultra_restricted: single-channel) or a stranger (another
// organisation's user seen through a shared channel; the payload's
// user.team_id is checked by CheckOrigin). A failed lookup refuses too
// (fail closed): the decision can be retried or made through the CLI.
func (p *Poster) CheckDecider(ctx context.Context, user string) error {
	u, err := p.api.GetUserInfoContext(ctx, user)
	if err != nil {
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && (se.Err == "user_not_found" || se.Err == "user_not_visible") {
			return fmt.Errorf("%w: Slack does not know the account %s in this workspace", ErrAccountRefused, user)
		}
		return fmt.Errorf("could not check your Slack account (%s); try again in a moment, or decide through the CLI", userMessage(classify("users.info", user, err)))
	}
	var why string
	switch {
	case u.Deleted:
		why = "is deactivated"
	case u.IsBot || u.IsAppUser || u.IsWorkflowBot || u.IsConnectorBot || u.ID == "USLACKBOT":
		why = "is a bot or app, not a person"
	case u.IsUltraRestricted:
		why = "is a single-channel guest"
	case u.IsRestricted:
		why = "is a guest account"
	case u.IsStranger:
		why = "belongs to another organisation"
	}
	if why != "" {
		return fmt.Errorf("%w: the Slack account %s %s; only full members of this workspace decide approval gates in Slack", ErrAccountRefused, user, why)
	}
	return nil
}

// SortedUnique returns the non-empty strings of xs, sorted, without
// duplicates.
func SortedUnique(xs []string) []string {
	set := map[string]bool{}
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" {
			set[x] = true
		}
	}
	return sortedKeys(set)
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// OpenGate posts the approval request for req to req.Channel (or the
// configured approval channel) after resolving req.Groups, and returns where
// it went and the resolved approvers. It is the body of the
// workflows.ActivityOpenGate activity.
func (p *Poster) OpenGate(ctx context.Context, req workflows.GateRequest) (workflows.GateOpened, error) {
	return p.OpenGateOnce(ctx, req, GateOnce{})
}

// GateOnce makes OpenGateOnce post a gate's request once across the
// retries of its activity.
type GateOnce struct {
	// Key tags the message (metadata, as PostTextOnce does); empty: no tag
	// and no search.
	Key string
	// Retrying: an earlier attempt may have posted (its answer lost, a
	// gateway 504 or a timeout after Slack acted); look for it first.
	Retrying bool
	// Since: when the first attempt was scheduled (zero: the latest
	// messages, findMaxMessages at most).
	Since time.Time
}

// OpenGateOnce is OpenGate that, on a retry, first looks in the channel's
// history for the request an earlier attempt posted with once.Key, and
// answers with that message instead of posting a second one (whose buttons
// would stay live on the first, never updated, message). The search needs
// a channel ID and channels:history (groups:history for a private
// channel); when it cannot be made (or is rate limited), the request is
// posted as before.
func (p *Poster) OpenGateOnce(ctx context.Context, req workflows.GateRequest, once GateOnce) (workflows.GateOpened, error) {
	approvers, err := p.ResolveApprovers(ctx, req.Users, req.Groups)
	if err != nil {
		return workflows.GateOpened{}, err
	}
	if len(approvers) == 0 {
		p.logger.Warn("approval gate has no approvers: nobody can approve it in Slack",
			"workflow_id", req.WorkflowID, "gate", req.GateID, "groups", req.Groups)
	}
	channel := req.Channel
	if channel == "" {
		channel = p.cfg.ApprovalChannel
	}
	if channel == "" {
		return workflows.GateOpened{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("no Slack channel for the approval request of step %s: set %s or the approval block's channel", req.StepID, EnvApprovalChannel),
			ErrTypeNoChannel, nil)
	}
	req.Channel = channel
	if once.Key != "" && once.Retrying && IsChannelID(channel) {
		since := once.Since
		if !since.IsZero() {
			since = since.Add(-postClockSkew)
		}
		ts, found, err := p.FindPosted(ctx, channel, once.Key, since, nil)
		switch {
		case err == nil && found:
			p.logger.Info("approval request already posted by an earlier attempt", "workflow_id", req.WorkflowID, "gate", req.GateID, "ts", ts)
			return workflows.GateOpened{Approvers: approvers, Channel: channel, MessageTS: ts, Posted: true}, nil
		case isDeadline(err) || errors.Is(err, context.Canceled):
			return workflows.GateOpened{}, err
		case err != nil:
			// Rate limited too (1 history request a minute for apps
			// outside the Marketplace): a request posted twice is better
			// than none, which waiting for the history could come to.
			p.logger.Warn("approval request: could not check whether an earlier attempt posted it; posting (it may appear twice)",
				"workflow_id", req.WorkflowID, "gate", req.GateID, "channel", channel, "err", err)
		}
	}
	blocks, fallbackText, color := RequestBlocks(req, gateFromRequest(req, approvers))
	opts := messageOptions(blocks, fallbackText, color, true)
	if once.Key != "" {
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{EventType: StepEventType, EventPayload: map[string]any{"idempotency_key": once.Key}}))
	}
	ch, ts, err := p.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return workflows.GateOpened{}, classify("chat.postMessage", channel, err)
	}
	return workflows.GateOpened{Approvers: approvers, Channel: ch, MessageTS: ts, Posted: true}, nil
}

// UpdateGate rewrites the request message to the gate's state now: still
// pending (quorum progress, escalation) or closed (who decided, or timed
// out, or escalated). It is the body of workflows.ActivityUpdateGate. A gate
// whose message was never posted is left alone.
func (p *Poster) UpdateGate(ctx context.Context, upd workflows.GateUpdate) error {
	channel, ts := upd.Channel, upd.MessageTS
	if channel == "" {
		channel = upd.Gate.Channel
	}
	if ts == "" {
		ts = upd.Gate.MessageTS
	}
	if channel == "" || ts == "" {
		p.logger.Info("approval message not updated: it was never posted", "gate", upd.Gate.ID)
		return nil
	}
	gate := upd.Gate
	gate.MessageTS = ts
	var (
		blocks           []slack.Block
		fallbackText, cl string
	)
	if gate.State == "" || gate.State == workflows.GatePending {
		blocks, fallbackText, cl = RequestBlocks(upd.Request, gate)
	} else {
		blocks, fallbackText, cl = DecidedRunBlocks(upd.Request, gate, upd.Run)
	}
	_, _, _, err := p.api.UpdateMessageContext(ctx, channel, ts, messageOptions(blocks, fallbackText, cl, false)...)
	if err != nil {
		return classify("chat.update", channel, err)
	}
	return nil
}

// messageOptions posts blocks inside one coloured attachment, with the
// fallback as the notification text, and no parsing, link names or unfurls.
func messageOptions(blocks []slack.Block, fallbackText, color string, post bool) []slack.MsgOption {
	opts := []slack.MsgOption{
		slack.MsgOptionText(fallbackText, false), // already free of markup
		slack.MsgOptionAttachments(slack.Attachment{
			Color:    color,
			Fallback: fallbackText,
			Blocks:   slack.Blocks{BlockSet: blocks},
		}),
		slack.MsgOptionParse(false),
		slack.MsgOptionLinkNames(false),
	}
	if post {
		opts = append(opts, slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl())
	}
	return opts
}

// PostText posts text as a plain message: &, < and > are escaped so the text
// cannot mention anyone or hide a link, mrkdwn formatting is off, link names
// and unfurling are off. URLs in the text remain visible (Slack may still
// make them clickable). It returns the channel id and the message ts.
func (p *Poster) PostText(ctx context.Context, channel, text string) (string, string, error) {
	return p.postText(ctx, channel, text)
}

// postText posts text as PostText says, with more options (metadata).
func (p *Poster) postText(ctx context.Context, channel, text string, more ...slack.MsgOption) (string, string, error) {
	opts := append([]slack.MsgOption{
		slack.MsgOptionText(text, true),
		slack.MsgOptionDisableMarkdown(),
		slack.MsgOptionParse(false),
		slack.MsgOptionLinkNames(false),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	}, more...)
	ch, ts, err := p.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", "", classify("chat.postMessage", channel, err)
	}
	return ch, ts, nil
}

// Ephemeral shows text to one user in a channel (escaped like PostText).
func (p *Poster) Ephemeral(ctx context.Context, channel, user, text string) error {
	_, err := p.api.PostEphemeralContext(ctx, channel, user,
		slack.MsgOptionText(truncate(text, MaxEphemeralText), true),
		slack.MsgOptionParse(false),
		slack.MsgOptionLinkNames(false),
	)
	if err != nil {
		return classify("chat.postEphemeral", channel, err)
	}
	return nil
}

// OpenReasonModal opens the modal asking for a reason (views.open), for the
// click that produced triggerID. ref carries everything the submission needs.
func (p *Poster) OpenReasonModal(ctx context.Context, triggerID string, ref GateRef) error {
	_, err := p.api.OpenViewContext(ctx, triggerID, ReasonModal(ref))
	if err != nil {
		return classify("views.open", "", err)
	}
	return nil
}

// ReasonModal is the modal asking for a reason to approve (ref.Approve) or
// deny the gate ref names. Its private_metadata is ref.
func ReasonModal(ref GateRef) slack.ModalViewRequest {
	title, submit, prompt := "Deny with reason", "Deny", "Why deny this action?"
	if ref.Approve {
		title, submit, prompt = "Approve with reason", "Approve", "Why approve this action?"
	}
	input := slack.NewPlainTextInputBlockElement(plainText("Visible in the run's history and this channel"), ReasonActionID)
	input.Multiline = true
	input.MinLength = 1
	input.MaxLength = MaxReason
	input.FocusOnLoad = true
	summary := fmt.Sprintf("Gate %s of run %s.", plain(ref.GateID), plain(ref.WorkflowID))
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		CallbackID: ReasonModalCallbackID,
		Title:      plainText(truncate(title, MaxModalTitle)),
		Submit:     plainText(submit),
		Close:      plainText("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(plainText(truncate(summary, MaxSectionText)), nil, nil),
			slack.NewInputBlock(ReasonBlockID, plainText(prompt), nil, input),
		}},
		PrivateMetadata: ref.Encode(),
	}
}

// classify turns a slack-go error into an error Temporal retries correctly,
// with a message that says what to fix. target is the channel or group.
func classify(method, target string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		d := rl.RetryAfter
		if d <= 0 {
			d = defaultRateLimitDelay
		}
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("slack %s: rate limited, retry after %s", method, d),
			ErrTypeRateLimited, temporal.ApplicationErrorOptions{NextRetryDelay: d, Cause: err})
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return classifyCode(method, target, se.Err, se.Needed, err)
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		if sc.Code >= 500 || sc.Code == http.StatusRequestTimeout {
			return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("slack %s: HTTP %d", method, sc.Code),
				ErrTypeUnavailable, temporal.ApplicationErrorOptions{Cause: err})
		}
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("slack %s: HTTP %d (check %s)", method, sc.Code, EnvAPIURL), ErrTypeRejected, err)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("slack %s: %v", method, err),
			ErrTypeUnavailable, temporal.ApplicationErrorOptions{Cause: err})
	}
	// Errors slack-go raises before calling (bad arguments) or while
	// decoding: retrying will not help.
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("slack %s: %v", method, err), ErrTypeRejected, err)
}

func classifyCode(method, target, code, needed string, cause error) error {
	nonRetryable := func(errType, format string, args ...any) error {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("slack %s: %s: ", method, code)+fmt.Sprintf(format, args...), errType, cause)
	}
	switch code {
	case "channel_not_found":
		return nonRetryable(ErrTypeChannelNotFound,
			"channel %q does not exist or the bot cannot see it; use the channel ID (C...) and invite the bot (/invite @Riposte) or grant chat:write.public", target)
	case "not_in_channel":
		return nonRetryable(ErrTypeNotInChannel,
			"the bot is not a member of channel %q; invite it there with /invite @Riposte (required for private channels)", target)
	case "is_archived":
		return nonRetryable(ErrTypeChannelNotFound, "channel %q is archived; choose another approval channel", target)
	case "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "not_allowed_token_type":
		return nonRetryable(ErrTypeAuth,
			"Slack rejected the bot token; set %s to the app's current Bot User OAuth Token (xoxb-...) and reinstall the app if it was revoked", EnvBotToken)
	case "missing_scope":
		return nonRetryable(ErrTypeMissingScope,
			"the app lacks the %s scope; add it (see docs/slack-app-manifest.yaml) and reinstall the app", orUnknown(needed))
	case "no_such_subteam", "subteam_not_found":
		return nonRetryable(ErrTypeGroupNotFound,
			"user group %q does not exist; playbook approvers.groups must be Slack user-group ids (S...)", target)
	case "ratelimited", "rate_limited":
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("slack %s: rate limited", method),
			ErrTypeRateLimited, temporal.ApplicationErrorOptions{NextRetryDelay: defaultRateLimitDelay, Cause: cause})
	case "internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org":
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("slack %s: %s (Slack-side, will retry)", method, code),
			ErrTypeUnavailable, temporal.ApplicationErrorOptions{Cause: cause})
	case "expired_trigger_id", "invalid_trigger_id":
		return nonRetryable(ErrTypeRejected, "the button click is too old to open a form (Slack allows 3 seconds); click again")
	}
	return nonRetryable(ErrTypeRejected, "Slack refused the request")
}

func orUnknown(s string) string {
	if s == "" {
		return "required"
	}
	return s
}
