package slackfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// InteractionsPath is where tests send interactions.
const InteractionsPath = "/slack/interactions"

// Sign returns the X-Slack-Signature Slack would send for body at ts:
// "v0=" + hex(HMAC-SHA256(secret, "v0:" + unix(ts) + ":" + body)).
func Sign(secret string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts.Unix())
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// InteractionBody is the form body Slack posts for payload:
// payload=<url-encoded JSON>.
func InteractionBody(payload any) []byte {
	var js []byte
	switch p := payload.(type) {
	case []byte:
		js = p
	case string:
		js = []byte(p)
	default:
		var err error
		if js, err = json.Marshal(payload); err != nil {
			panic(fmt.Sprintf("slackfake: payload does not marshal: %v", err))
		}
	}
	return []byte(url.Values{"payload": {string(js)}}.Encode())
}

// SignedInteraction builds the request Slack would POST to an
// interactivity Request URL for payload (a map, a struct, or JSON bytes),
// signed with secret at ts.
func SignedInteraction(secret string, payload any, ts time.Time) *http.Request {
	body := InteractionBody(payload)
	return SignedRequest(secret, body, ts)
}

// SignedRequest builds a signed interaction request with a raw body.
func SignedRequest(secret string, body []byte, ts time.Time) *http.Request {
	r := httptest.NewRequest(http.MethodPost, InteractionsPath, strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	r.Header.Set("X-Slack-Signature", Sign(secret, ts, body))
	r.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	return r
}

var triggerSeq atomic.Int64

func triggerID() string {
	n := triggerSeq.Add(1)
	return fmt.Sprintf("%d.%d.%032x", 4_000_000_000_000+n, 3_901_254_001_572, n)
}

func userObject(user string) map[string]any {
	name := strings.ToLower(user)
	return map[string]any{"id": user, "username": name, "name": name, "team_id": TeamID}
}

// buttonLabel is the label Riposte's button with actionID carries.
func buttonLabel(actionID string) string {
	switch actionID {
	case "riposte_approve":
		return "Approve"
	case "riposte_deny":
		return "Deny"
	case "riposte_approve_reason":
		return "Approve with reason…"
	case "riposte_deny_reason":
		return "Deny with reason…"
	}
	return actionID
}

// ButtonValue is the value Riposte puts on its buttons:
// {"w":workflowID,"g":gateID,"ts":messageTS}.
func ButtonValue(workflowID, gateID, messageTS string) string {
	v := struct {
		W  string `json:"w"`
		G  string `json:"g"`
		TS string `json:"ts,omitempty"`
	}{workflowID, gateID, messageTS}
	b, _ := json.Marshal(v)
	return string(b)
}

// BlockActionPayload is the block_actions payload Slack sends when user
// clicks the button actionID on Riposte's approval message (blocks inside an
// attachment) in channel at messageTS, for gate gateID of workflowID.
func BlockActionPayload(user, workflowID, gateID, actionID, channel, messageTS string) map[string]any {
	return BlockActionPayloadWithValue(user, ButtonValue(workflowID, gateID, ""), actionID, channel, messageTS)
}

// BlockActionPayloadWithValue is BlockActionPayload with an arbitrary
// button value.
func BlockActionPayloadWithValue(user, value, actionID, channel, messageTS string) map[string]any {
	label := buttonLabel(actionID)
	actionTS := fmt.Sprintf("%d.%06d", time.Now().Unix(), time.Now().Nanosecond()/1000)
	button := map[string]any{
		"type":      "button",
		"block_id":  "riposte_actions",
		"action_id": actionID,
		"text":      map[string]any{"type": "plain_text", "text": label, "emoji": false},
		"value":     value,
		"action_ts": actionTS,
	}
	switch actionID {
	case "riposte_approve":
		button["style"] = "primary"
	case "riposte_deny":
		button["style"] = "danger"
	}
	return map[string]any{
		"type":                  "block_actions",
		"user":                  userObject(user),
		"api_app_id":            AppID,
		"token":                 "fakeVerificationToken",
		"container":             map[string]any{"type": "message_attachment", "message_ts": messageTS, "attachment_id": 1, "channel_id": channel, "is_ephemeral": false, "is_app_unfurl": false},
		"trigger_id":            triggerID(),
		"team":                  map[string]any{"id": TeamID, "domain": "fake"},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               map[string]any{"id": channel, "name": "riposte-approvals"},
		"message": map[string]any{
			"type":    "message",
			"subtype": "bot_message",
			"text":    "Approval needed",
			"ts":      messageTS,
			"bot_id":  BotID,
			"attachments": []any{map[string]any{
				"id":       1,
				"color":    "F5A623",
				"fallback": "Approval needed",
				"blocks": []any{map[string]any{
					"type":     "actions",
					"block_id": "riposte_actions",
					"elements": []any{map[string]any{
						"type": "button", "action_id": actionID, "value": value,
						"text": map[string]any{"type": "plain_text", "text": label, "emoji": false},
					}},
				}},
			}},
		},
		"state":        map[string]any{"values": map[string]any{}},
		"response_url": "https://hooks.slack.invalid/actions/" + TeamID + "/1/fake",
		"actions":      []any{button},
	}
}

// ViewSubmissionPayload is the view_submission payload Slack sends when
// user submits a modal with callbackID and privateMetadata; values maps
// block id → action id → the plain-text input's value.
func ViewSubmissionPayload(user, callbackID, privateMetadata string, values map[string]map[string]string) map[string]any {
	state := map[string]any{}
	for block, actions := range values {
		m := map[string]any{}
		for action, v := range actions {
			m[action] = map[string]any{"type": "plain_text_input", "value": v}
		}
		state[block] = m
	}
	return map[string]any{
		"type":                  "view_submission",
		"team":                  map[string]any{"id": TeamID, "domain": "fake"},
		"user":                  userObject(user),
		"api_app_id":            AppID,
		"token":                 "fakeVerificationToken",
		"trigger_id":            triggerID(),
		"is_enterprise_install": false,
		"enterprise":            nil,
		"response_urls":         []any{},
		"view": map[string]any{
			"id":               "V0FAKEVIEW1",
			"team_id":          TeamID,
			"type":             "modal",
			"callback_id":      callbackID,
			"private_metadata": privateMetadata,
			"title":            map[string]any{"type": "plain_text", "text": "Reason"},
			"blocks":           []any{},
			"state":            map[string]any{"values": state},
			"hash":             "1767326125.fakehash",
			"app_id":           AppID,
			"bot_id":           BotID,
			"root_view_id":     "V0FAKEVIEW1",
		},
	}
}
