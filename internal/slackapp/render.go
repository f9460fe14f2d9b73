package slackapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/workflows"
)

// SeverityColor maps an OCSF severity_id to the attachment colour.
func SeverityColor(severityID int) string {
	switch severityID {
	case 5, 6:
		return ColorCritical
	case 4:
		return ColorHigh
	case 3:
		return ColorMedium
	default:
		return ColorLow
	}
}

// RequestBlocks renders a pending approval request: what would be done (the
// action and its params), the detection behind it, why a human must decide,
// when the request expires, who may decide, quorum progress, a link to the
// run, and the buttons. gate supplies the state that changes while the gate
// is open (resolved approvers, votes, message ts, escalation); fields left
// empty fall back to req. It returns the blocks (posted inside an attachment
// so they carry the colour), the notification fallback text, and the colour.
func RequestBlocks(req workflows.GateRequest, gate workflows.Gate) (blocks []slack.Block, fallbackText string, color string) {
	escalated := req.Escalation || gate.Escalated
	blocks = summaryBlocks(req, escalated)
	blocks = append(blocks, statusBlock(req, gate))
	if b := linkBlock(req.RunURL); b != nil {
		blocks = append(blocks, b)
	}
	blocks = append(blocks, buttonsBlock(req, gate))

	prefix := "Approval needed"
	if escalated {
		prefix = "Escalated approval needed"
	}
	return blocks, fallback(prefix, req), SeverityColor(req.Detection.SeverityID)
}

// DecidedBlocks renders a closed gate: the same summary without buttons, and
// who decided, when, why and how (Slack, API, timeout policy, escalation).
func DecidedBlocks(req workflows.GateRequest, gate workflows.Gate) (blocks []slack.Block, fallbackText string, color string) {
	return DecidedRunBlocks(req, gate, nil)
}

// DecidedRunBlocks is DecidedBlocks followed by what became of the run
// after the gate closed (run may be nil): the release time of the step's
// contain_for hold while it is active, and the run's outcome once it ended.
func DecidedRunBlocks(req workflows.GateRequest, gate workflows.Gate, run *workflows.GateRunState) (blocks []slack.Block, fallbackText string, color string) {
	// A message escalated away keeps its original header; the outcome says
	// where the decision went.
	escalated := req.Escalation || (gate.Escalated && gate.State != workflows.GateEscalated)
	blocks = summaryBlocks(req, escalated)
	outcome, verb, color := outcomeBlocks(req, gate)
	blocks = append(blocks, outcome...)
	if b := runStateBlock(req, run); b != nil {
		blocks = append(blocks, b)
	}
	if b := linkBlock(req.RunURL); b != nil {
		blocks = append(blocks, b)
	}
	return blocks, fallback(verb, req), color
}

// summaryBlocks are what an open and a closed gate's message both start
// with: header, proposed action, detection summary, why a human is asked.
func summaryBlocks(req workflows.GateRequest, escalated bool) []slack.Block {
	blocks := []slack.Block{headerBlock(req, escalated), actionBlock(req)}
	if b := detectionBlock(req.Detection); b != nil {
		blocks = append(blocks, b)
	}
	if b := whyBlock(req, escalated); b != nil {
		blocks = append(blocks, b)
	}
	return blocks
}

// runStateBlock says what became of the run after the gate closed: the
// hold of the gate's step (release time, extensions, released) and the
// run's outcome once it ended. The section is mrkdwn (for Riposte's own
// bold labels and dates); every text that can quote outside data (the run
// id holds the detection's uid, a release error may echo a vendor's body,
// the outcome names users and reasons) is a code span, where Slack applies
// no formatting, after neutralising.
func runStateBlock(req workflows.GateRequest, run *workflows.GateRunState) slack.Block {
	if run == nil {
		return nil
	}
	var lines []string
	if h := run.Hold; h != nil {
		switch {
		case h.ReleasedAt != nil && h.Error != "":
			lines = append(lines, fmt.Sprintf("*Time-boxed*: releasing %s (%s) failed %s: %s", codeSpan(plain(h.Step)), plain(h.Undo), slackDate(*h.ReleasedAt), codeSpan(safeText(h.Error, 300))))
		case h.ReleasedAt != nil:
			lines = append(lines, fmt.Sprintf("*Time-boxed*: %s released (%s) %s", codeSpan(plain(h.Step)), plain(h.Undo), slackDate(*h.ReleasedAt)))
		case run.Status == workflows.RunSucceeded || run.Status == workflows.RunFailed || run.Status == workflows.RunCanceled:
			// The run ended before releasing it (cancelled while it
			// held): no code releases it or takes an extension now.
			line := fmt.Sprintf("*Not released*: %s (%s) was due %s; the run ended first: the containment was not released and stays in place", codeSpan(plain(h.Step)), plain(h.Undo), slackDate(h.Until))
			if run.RunID != "" {
				line += " · undo it: " + codeSpan(plain("riposte rollback "+run.RunID))
			}
			lines = append(lines, line)
		default:
			line := fmt.Sprintf("*Holding*: %s is released (%s) %s, unless extended", codeSpan(plain(h.Step)), plain(h.Undo), slackDate(h.Until))
			if n := ExtensionCount(*h); n > 0 {
				line += fmt.Sprintf(" (extended %d time(s))", n)
			}
			if run.RunID != "" {
				line += " · extend: " + codeSpan(plain("riposte extend "+run.RunID+" "+h.Step+" 4h"))
			}
			lines = append(lines, line)
		}
	}
	switch run.Status {
	case workflows.RunSucceeded, workflows.RunFailed, workflows.RunCanceled:
		// The outcome is Riposte's word; its detail (who denied, a policy's
		// reason) is outside text.
		head := "*Run ended*: "
		if run.Status == workflows.RunCanceled {
			// Cancelled from the Temporal UI or tctl: not the run's own end.
			head = "*Run ended* (canceled): "
		}
		line := head + plain(run.Status)
		if run.Outcome != "" {
			line = head + plain(run.Outcome)
			if detail, ok := strings.CutPrefix(run.OutcomeText, run.Outcome+": "); ok {
				line += ": " + codeSpan(safeText(detail, 300))
			}
		} else if run.OutcomeText != "" {
			line += ": " + codeSpan(safeText(run.OutcomeText, 300))
		}
		if run.EndedAt != nil {
			line += " · " + slackDate(*run.EndedAt)
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return nil
	}
	return slack.NewSectionBlock(mrkdwnText(truncate(strings.Join(lines, "\n"), MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID(BlockRun))
}

func fallback(prefix string, req workflows.GateRequest) string {
	s := fmt.Sprintf("%s: %s (playbook %s, step %s)", prefix, req.Action, req.Playbook, stepLabel(req))
	return truncate(plain(s), MaxFallbackText)
}

func stepLabel(req workflows.GateRequest) string {
	if req.StepName != "" && req.StepName != req.StepID {
		return req.StepName + " [" + req.StepID + "]"
	}
	return req.StepID
}

func plainText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func mrkdwnText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func headerBlock(req workflows.GateRequest, escalated bool) slack.Block {
	title := "Approval: "
	if escalated {
		title = "Escalated approval: "
	}
	title += plain(req.Playbook) + " / " + plain(stepLabel(req))
	return slack.NewHeaderBlock(plainText(truncate(title, MaxHeaderText)), slack.HeaderBlockOptionBlockID(BlockHeader))
}

func actionBlock(req workflows.GateRequest) slack.Block {
	text := "Proposed action: " + plain(req.Action)
	if req.Risk != "" {
		text += " (risk: " + plain(req.Risk) + ")"
	}
	if len(req.Params) == 0 {
		text += "\nNo parameters."
	}
	keys := slices.Sorted(maps.Keys(req.Params))
	var fields []*slack.TextBlockObject
	for i, k := range keys {
		if i == maxParamFields-1 && len(keys) > maxParamFields {
			fields = append(fields, plainText(fmt.Sprintf("… and %d more parameters (see the run)", len(keys)-i)))
			break
		}
		fields = append(fields, plainText(truncate(Neutralize(k)+": "+Neutralize(renderValue(req.Params[k])), MaxFieldText)))
	}
	return slack.NewSectionBlock(plainText(truncate(text, MaxSectionText)), fields, nil, slack.SectionBlockOptionBlockID(BlockAction))
}

// renderValue shows a param value: strings as they are, anything else as
// compact JSON.
func renderValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "null"
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func detectionBlock(d workflows.DetectionSummary) slack.Block {
	var fields []*slack.TextBlockObject
	field := func(label, value string) {
		if value == "" {
			return
		}
		fields = append(fields, plainText(label+": "+truncate(Neutralize(value), maxDetectionField)))
	}
	sev := d.Severity
	if name, ok := finding.SeverityCaption(d.SeverityID); ok && d.SeverityID != 0 {
		if sev == "" {
			sev = name
		}
		sev += " (" + strconv.Itoa(d.SeverityID) + ")"
	}
	field("Severity", sev)
	field("Detector", d.Detector)
	if d.Confidence != nil {
		field("Confidence", strconv.Itoa(*d.Confidence)+"%")
	} else {
		field("Confidence", "unknown")
	}
	field("ATT&CK", strings.Join(d.AttackIDs, ", "))
	field("Host", d.Host)
	field("User", d.User)
	field("IP", d.IP)
	field("Detection id", d.ID)

	title := Neutralize(d.Title)
	if title == "" && len(fields) == 0 {
		return nil
	}
	if title == "" {
		title = "(untitled)"
	}
	return slack.NewSectionBlock(plainText(truncate("Detection: "+title, MaxSectionText)), fields, nil, slack.SectionBlockOptionBlockID(BlockDetection))
}

func whyBlock(req workflows.GateRequest, escalated bool) slack.Block {
	// The playbook's own approval.if (reviewed in git) reads as code: shown
	// as detection text is, its dotted names came out defanged
	// (finding[.]confidence). Any other reason may quote the detection
	// (a guardrail names the host) and stays neutralised plain text.
	if expr, ok := strings.CutPrefix(req.Why, workflows.WhyApprovalIf); ok && strings.TrimSpace(expr) != "" {
		text := "Why a human must decide: the playbook's `approval.if` holds: " + mrkdwnCode(expr, MaxSectionText/2)
		if escalated {
			text += "\nEscalated: the first approvers did not decide in time."
		}
		return slack.NewSectionBlock(mrkdwnText(text), nil, nil, slack.SectionBlockOptionBlockID(BlockWhy))
	}
	why := neutralize(req.Why, true)
	if why == "" && !escalated {
		return nil
	}
	text := ""
	if why != "" {
		text = "Why a human must decide: " + why
	}
	if escalated {
		if text != "" {
			text += "\n"
		}
		text += "Escalated: the first approvers did not decide in time."
	}
	return slack.NewSectionBlock(plainText(truncate(text, MaxSectionText)), nil, nil, slack.SectionBlockOptionBlockID(BlockWhy))
}

// statusBlock: expiry, who may decide, quorum progress.
func statusBlock(req workflows.GateRequest, gate workflows.Gate) slack.Block {
	var elems []slack.MixedElement
	expires := gate.ExpiresAt
	if expires.IsZero() {
		expires = req.ExpiresAt
	}
	if !expires.IsZero() {
		elems = append(elems, mrkdwnText("Expires "+slackDate(expires)))
	}
	quorum := gate.Quorum
	if quorum == 0 {
		quorum = req.Quorum
	}
	if quorum > 1 {
		approvers := approvedBy(gate.RoundVotes())
		text := fmt.Sprintf("%d of %d approvals", len(approvers), quorum)
		elems = append(elems, plainText(text))
		if m, rest := mentions(approvers); m != "" || rest != "" {
			if m != "" {
				elems = append(elems, mrkdwnText("Approved so far: "+m))
			}
			if rest != "" {
				elems = append(elems, plainText("Approved so far: "+rest))
			}
		}
	}
	users := gate.Approvers
	if len(users) == 0 {
		users = req.Users
	}
	groups := gate.Groups
	if len(groups) == 0 {
		groups = req.Groups
	}
	m, rest := approverMentions(users, groups)
	if m != "" {
		elems = append(elems, mrkdwnText(truncate("Approvers: "+m, MaxContextText)))
	}
	if rest != "" {
		elems = append(elems, plainText(truncate("Approvers: "+rest, MaxContextText)))
	}
	if m == "" && rest == "" {
		elems = append(elems, plainText("Approvers: none resolved; decide through the API or CLI"))
	}
	if len(elems) > maxContextElems {
		elems = elems[:maxContextElems]
	}
	return slack.NewContextBlock(BlockStatus, elems...)
}

// slackDate renders t in each reader's time zone, with a UTC fallback.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} at {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

// approvedBy lists the distinct users who voted to approve, in vote order.
func approvedBy(votes []workflows.Decision) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range votes {
		if v.Approve && !seen[v.User] {
			seen[v.User] = true
			out = append(out, v.User)
		}
	}
	return out
}

// mentions writes Slack user ids as <@ID> mentions (mrkdwn) and returns any
// other names separately, neutralised, for a plain_text object.
func mentions(users []string) (mrkdwn, other string) {
	var ids, rest []string
	for _, u := range users {
		u = strings.TrimSpace(u)
		switch {
		case u == "":
		case IsUserID(u):
			ids = append(ids, "<@"+u+">")
		default:
			rest = append(rest, truncate(Neutralize(u), 80))
		}
	}
	return listCapped(ids), listCapped(rest)
}

// approverMentions writes who may decide: user mentions, then user group
// mentions (mrkdwn), and any other names separately (see mentions).
func approverMentions(users, groups []string) (mrkdwn, other string) {
	mrkdwn, other = mentions(users)
	if g := groupMentions(groups); g != "" {
		if mrkdwn != "" {
			mrkdwn += ", "
		}
		mrkdwn += g
	}
	return mrkdwn, other
}

func groupMentions(groups []string) string {
	var out []string
	for _, g := range groups {
		if IsGroupID(g) {
			out = append(out, "<!subteam^"+g+">")
		}
	}
	return listCapped(out)
}

func listCapped(xs []string) string {
	if len(xs) > maxListedPeople {
		return strings.Join(xs[:maxListedPeople], ", ") + fmt.Sprintf(" and %d more", len(xs)-maxListedPeople)
	}
	return strings.Join(xs, ", ")
}

// linkBlock is the "View run" link. RunURL is built by Riposte from its own
// configuration, so it may be a link; anything but http(s) is dropped.
func linkBlock(runURL string) slack.Block {
	u, err := url.Parse(runURL)
	if runURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil
	}
	return slack.NewContextBlock(BlockLink, mrkdwnText("<"+escapeMrkdwnURL(runURL)+"|View run in Temporal UI>"))
}

func buttonsBlock(req workflows.GateRequest, gate workflows.Gate) slack.Block {
	ref := GateRef{WorkflowID: req.WorkflowID, GateID: req.GateID, MessageTS: gate.MessageTS, RunID: req.RunID}
	if ref.GateID == "" {
		ref.GateID = gate.ID
	}
	value := ref.Encode()
	button := func(actionID, label string, style slack.Style) *slack.ButtonBlockElement {
		b := slack.NewButtonBlockElement(actionID, value, plainText(truncate(label, MaxButtonText)))
		if style != "" {
			b = b.WithStyle(style)
		}
		return b
	}
	var elems []slack.BlockElement
	switch req.Reason {
	case reasonRequired:
		elems = append(elems,
			button(ActionApproveReason, "Approve with reason…", slack.StylePrimary),
			button(ActionDenyReason, "Deny with reason…", slack.StyleDanger))
	case reasonOnDeny:
		elems = append(elems,
			button(ActionApprove, "Approve", slack.StylePrimary),
			button(ActionDenyReason, "Deny with reason…", slack.StyleDanger),
			button(ActionApproveReason, "Approve with reason…", ""))
	default:
		elems = append(elems,
			button(ActionApprove, "Approve", slack.StylePrimary),
			button(ActionDeny, "Deny", slack.StyleDanger),
			button(ActionApproveReason, "Approve with reason…", ""))
	}
	return slack.NewActionBlock(BlockButtons, elems...)
}

// gateFromRequest is the Gate a freshly opened request has.
func gateFromRequest(req workflows.GateRequest, approvers []string) workflows.Gate {
	return workflows.Gate{
		ID:        req.GateID,
		StepID:    req.StepID,
		State:     workflows.GatePending,
		Why:       req.Why,
		Approvers: approvers,
		Groups:    req.Groups,
		Quorum:    req.Quorum,
		ExpiresAt: req.ExpiresAt,
		Escalated: req.Escalation,
		Channel:   req.Channel,
		Params:    req.Params,
		Action:    req.Action,
	}
}

// holdNotes start the notes a run keeps on a hold (workflows/hold.go) that
// are not extensions: a target or the hold released early by a later step,
// released by a rollback's mark, left in place by a cancelled run.
var holdNotes = []string{"one target released early by step ", "released early by step ", "released by rollback ", "not released: "}

// ExtensionCount is how many times a hold was extended: its Extensions
// also hold the run's other notes on it (holdNotes), which are not.
func ExtensionCount(h workflows.Hold) int {
	n := 0
	for _, e := range h.Extensions {
		if !slices.ContainsFunc(holdNotes, func(p string) bool { return strings.HasPrefix(e, p) }) {
			n++
		}
	}
	return n
}
