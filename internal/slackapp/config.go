// Package slackapp is Riposte's Slack side of approvals: it renders approval
// requests as Block Kit messages, posts and updates them (Poster), and turns
// button clicks and modal submissions into decisions (Handler for Slack's
// HTTP interactivity, RunSocketMode for Socket Mode), which a Decider
// delivers to the workflow.
//
// Everything that comes from a detection, a step's params or a user's reason
// is untrusted (much of it is written by AI detectors). It is rendered only in
// plain_text objects, after [Neutralize] has removed what Slack could turn
// into a mention or a link. Requests from Slack are trusted only after their
// signature has been checked (HTTP) or because they arrived over the Socket
// Mode connection the app token opened.
package slackapp

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Environment variables read by [ConfigFromEnv].
const (
	EnvBotToken        = "SLACK_BOT_TOKEN"
	EnvAppToken        = "SLACK_APP_TOKEN"
	EnvSigningSecret   = "SLACK_SIGNING_SECRET"
	EnvAPIURL          = "SLACK_API_URL"
	EnvApprovalChannel = "RIPOSTE_APPROVAL_CHANNEL"
	EnvPublicUIURL     = "RIPOSTE_PUBLIC_UI_URL"
	// EnvTeamID, EnvAppID and EnvEnterpriseID name the only workspace, app
	// and (Enterprise Grid) organisation whose clicks count.
	EnvTeamID       = "SLACK_TEAM_ID"
	EnvAppID        = "SLACK_APP_ID"
	EnvEnterpriseID = "SLACK_ENTERPRISE_ID"
)

// Config is the Slack app's configuration. The zero value means Slack is not
// configured: approvals then happen through the API and the CLI only.
type Config struct {
	// BotToken is the Bot User OAuth Token (xoxb-...). Setting it enables Slack.
	BotToken string
	// AppToken is an app-level token (xapp-...) with connections:write. When
	// set, interactions arrive over Socket Mode and no public URL is needed.
	AppToken string
	// SigningSecret verifies interactions posted to /slack/interactions.
	SigningSecret string
	// APIURL overrides the Web API base URL (tests: the slackfake server).
	// It must end with "/"; NewPoster adds it when missing.
	APIURL string
	// ApprovalChannel is where approval requests go when a playbook's
	// approval block names no channel: a channel ID (C...) or name.
	ApprovalChannel string
	// PublicUIURL is the Temporal UI base URL users can reach, for the
	// "View run" link.
	PublicUIURL string
	// TeamID (T…) and AppID (A…) are required: an interaction from another
	// workspace or app is refused. EnterpriseID (E…), when set, must match
	// too.
	TeamID       string
	AppID        string
	EnterpriseID string
}

// ConfigFromEnv reads the configuration from the environment. It does not
// validate it; call [Config.Validate].
func ConfigFromEnv() Config {
	get := func(k string) string { return strings.TrimSpace(os.Getenv(k)) }
	return Config{
		BotToken:        get(EnvBotToken),
		AppToken:        get(EnvAppToken),
		SigningSecret:   get(EnvSigningSecret),
		APIURL:          get(EnvAPIURL),
		ApprovalChannel: get(EnvApprovalChannel),
		PublicUIURL:     get(EnvPublicUIURL),
		TeamID:          get(EnvTeamID),
		AppID:           get(EnvAppID),
		EnterpriseID:    get(EnvEnterpriseID),
	}
}

// Enabled reports whether Slack is configured (a bot token is set).
func (c Config) Enabled() bool { return c.BotToken != "" }

// SocketMode reports whether interactions arrive over Socket Mode.
func (c Config) SocketMode() bool { return c.AppToken != "" }

// Validate checks the configuration and returns every problem found, each
// naming the variable to fix. A configuration with nothing set is valid
// (Slack disabled); one with only some Slack variables set is not.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if !c.Enabled() {
		if c.AppToken != "" || c.SigningSecret != "" {
			add("%s is not set, but %s or %s is: set %s to the app's Bot User OAuth Token (xoxb-...) to enable Slack approvals, or unset the others",
				EnvBotToken, EnvAppToken, EnvSigningSecret, EnvBotToken)
		}
		return errors.Join(errs...)
	}
	if !strings.HasPrefix(c.BotToken, "xoxb-") {
		add("%s must be a bot token starting with xoxb- (OAuth & Permissions → Bot User OAuth Token), got one starting with %q",
			EnvBotToken, tokenPrefix(c.BotToken))
	}
	if c.AppToken != "" && !strings.HasPrefix(c.AppToken, "xapp-") {
		add("%s must be an app-level token starting with xapp- (Basic Information → App-Level Tokens, scope connections:write), got one starting with %q",
			EnvAppToken, tokenPrefix(c.AppToken))
	}
	if c.AppToken == "" && c.SigningSecret == "" {
		add("neither %s (Socket Mode) nor %s (HTTP interactivity at /slack/interactions) is set: button clicks could never reach Riposte; set one of them",
			EnvAppToken, EnvSigningSecret)
	}
	if c.TeamID == "" || c.AppID == "" {
		add("%s and %s must be set (Basic Information → App ID; the workspace id T… from auth.test or the workspace URL): clicks from any other workspace or app are refused, so Riposte must know which are yours",
			EnvTeamID, EnvAppID)
	}
	if c.ApprovalChannel == "" {
		add("%s is not set: name the channel approval requests are posted to (a channel ID like C0123456789, or a name), and invite the bot there",
			EnvApprovalChannel)
	}
	if c.APIURL != "" {
		if err := CheckHTTPURL(c.APIURL); err != nil {
			add("%s: %v", EnvAPIURL, err)
		}
	}
	if c.PublicUIURL != "" {
		if err := CheckUIURL(c.PublicUIURL); err != nil {
			add("%s: %v", EnvPublicUIURL, err)
		}
	}
	return errors.Join(errs...)
}

// CheckUIURL checks the public Temporal UI URL (RIPOSTE_PUBLIC_UI_URL,
// serve --ui-url): an absolute http(s) URL without credentials. Every
// approval message and run URL links to it, so its userinfo (a proxy's
// basic auth) would be posted to the channel and returned by the API.
func CheckUIURL(s string) error {
	if err := CheckHTTPURL(s); err != nil {
		return err
	}
	if u, _ := url.Parse(s); u.User != nil {
		return errors.New("must not carry credentials (user:password@): it is the link in every approval message and run URL; let the proxy in front of the Temporal UI authenticate people another way (SSO)")
	}
	return nil
}

// CheckHTTPURL checks s is an absolute http(s) URL. Its errors never
// quote a password: url's errors quote the whole text (which may carry
// user:password@), so only what was refused is said; a URL is shown with
// its password replaced (url.URL.Redacted).
func CheckHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		what := "unparsable"
		if inner := errors.Unwrap(err); inner != nil {
			what = inner.Error()
			if i := strings.IndexAny(what, "\"\\"); i > 0 {
				what = strings.TrimSpace(what[:i])
			}
			if _, pw := urlHasPassword(s); pw != "" {
				what = strings.ReplaceAll(what, pw, "xxxxx")
			}
		}
		return fmt.Errorf("not a URL (%s)", what)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", u.Redacted())
	}
	return nil
}

// urlHasPassword finds the password of s's userinfo in text url.Parse
// refused.
func urlHasPassword(s string) (bool, string) {
	_, rest, ok := strings.Cut(s, "://")
	if !ok {
		return false, ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return false, ""
	}
	_, pw, ok := strings.Cut(rest[:at], ":")
	return ok, pw
}

// tokenPrefix shows the type part of a token (before its first dash) without
// revealing the secret part.
func tokenPrefix(tok string) string {
	if i := strings.IndexByte(tok, '-'); i >= 0 && i <= 8 {
		return tok[:i+1]
	}
	if len(tok) > 4 {
		return tok[:4] + "…"
	}
	return tok
}

// RunURL is the Temporal UI page of a run under PublicUIURL, or "" when
// PublicUIURL is not set.
func (c Config) RunURL(namespace, workflowID, runID string) string {
	if c.PublicUIURL == "" || workflowID == "" {
		return ""
	}
	if namespace == "" {
		namespace = "default"
	}
	u := strings.TrimRight(c.PublicUIURL, "/") + "/namespaces/" + url.PathEscape(namespace) + "/workflows/" + url.PathEscape(workflowID)
	if runID != "" {
		u += "/" + url.PathEscape(runID)
	}
	return u + "/history"
}

// apiURL returns the API base URL with the trailing slash slack-go needs.
func (c Config) apiURL() string {
	if c.APIURL == "" || strings.HasSuffix(c.APIURL, "/") {
		return c.APIURL
	}
	return c.APIURL + "/"
}

// BotScope is an OAuth scope of the bot token, with the calls that need it
// and what fails without it (docs/slack-app-manifest.yaml grants them).
type BotScope struct {
	Scope, Calls, WithoutIt string
	// Required: Riposte cannot approve without it (doctor fails).
	Required bool
}

// BotScopes are the bot scopes Riposte calls Slack with.
var BotScopes = []BotScope{
	{"chat:write", "chat.postMessage, chat.update, chat.postEphemeral", "approval requests are not posted", true},
	{"users:read", "users.info: who clicked (CheckDecider)", "every click is refused (users.info cannot say who clicked)", true},
	{"usergroups:read", "usergroups.users.list (approvers.groups)", "approvers.groups never resolve", true},
	{"channels:history", "conversations.history in a public channel (FindPosted: post once)", "a retried post may appear twice (public channels)", true},
	{"groups:history", "conversations.history in a private channel (FindPosted: post once)", "a retried post may appear twice (private channels)", true},
	{"chat:write.public", "posting to a public channel the bot was not invited to", "the bot must be invited to each approval channel", false},
}
