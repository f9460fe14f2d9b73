package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/slackfake"
)

// doctor's Slack check must say when approvals in Slack cannot work
// although the bot token is valid: SLACK_TEAM_ID (or SLACK_ENTERPRISE_ID)
// that is not the token's workspace refuses every click as "from another
// workspace" (403), and a token without a scope Riposte calls Slack with
// (users:read: every click is refused, since who clicked cannot be
// checked; usergroups:read: approver groups never resolve) makes every
// approval fail while auth.test succeeds. Slack lists the token's scopes
// in the X-OAuth-Scopes header of every Web API answer. Nor was
// SLACK_APP_TOKEN checked: with Socket Mode a token Slack refuses means no
// click arrives at all. Until fixed, doctor printed "ok slack" for all of
// these.
func TestDoctorSlackChecksWorkspaceAndScopes(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	for _, k := range []string{"RIPOSTE_DECISION_KEY_FILE", "RIPOSTE_DECISION_KEYS", "RIPOSTE_NO_ENCRYPTION", "RIPOSTE_PLAYBOOK_STORE", "RIPOSTE_STICKY_CACHE", "SLACK_APP_TOKEN", "SLACK_ENTERPRISE_ID"} {
		t.Setenv(k, "")
	}
	t.Setenv("SLACK_BOT_TOKEN", slackfake.BotToken)
	t.Setenv("SLACK_API_URL", fake.URL())
	t.Setenv("SLACK_APP_ID", slackfake.AppID)
	doctor := func() string {
		t.Helper()
		var out, errb bytes.Buffer
		Main(context.Background(), []string{"doctor", "--temporal-address", "127.0.0.1:1", "--timeout", "1s", "--config", t.TempDir() + "/none.yaml"},
			Streams{Out: &out, Err: &errb})
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.Contains(l, " slack ") {
				return l
			}
		}
		t.Fatalf("no slack line in:\n%s", out.String())
		return ""
	}

	t.Setenv("SLACK_TEAM_ID", "T0OTHER001")
	if l := doctor(); !strings.HasPrefix(l, "FAIL") || !strings.Contains(l, "SLACK_TEAM_ID") || !strings.Contains(l, slackfake.TeamID) {
		t.Errorf("SLACK_TEAM_ID is not the bot token's workspace: %q; want a FAIL naming SLACK_TEAM_ID and %s", l, slackfake.TeamID)
	}

	t.Setenv("SLACK_TEAM_ID", slackfake.TeamID)
	t.Setenv("SLACK_ENTERPRISE_ID", "E0OTHER001")
	if l := doctor(); !strings.HasPrefix(l, "FAIL") || !strings.Contains(l, "SLACK_ENTERPRISE_ID") {
		t.Errorf("SLACK_ENTERPRISE_ID set for a workspace outside any organisation: %q; want a FAIL naming SLACK_ENTERPRISE_ID", l)
	}
	t.Setenv("SLACK_ENTERPRISE_ID", "")

	fake.SetScopes("chat:write", "chat:write.public", "usergroups:read", "channels:history", "groups:history")
	if l := doctor(); !strings.HasPrefix(l, "FAIL") || !strings.Contains(l, "users:read") {
		t.Errorf("bot token without users:read: %q; want a FAIL naming users:read", l)
	}

	fake.SetScopes(slackfake.ManifestScopes...)
	t.Setenv("SLACK_APP_TOKEN", "xapp-1-revoked")
	if l := doctor(); !strings.HasPrefix(l, "FAIL") || !strings.Contains(l, "SLACK_APP_TOKEN") {
		t.Errorf("an app-level token Slack refuses (Socket Mode): %q; want a FAIL naming SLACK_APP_TOKEN", l)
	}

	t.Setenv("SLACK_APP_TOKEN", slackfake.AppToken)
	if l := doctor(); !strings.HasPrefix(l, "ok") {
		t.Errorf("a good token: %q, want ok", l)
	}
}

// A bot token read into SLACK_BOT_TOKEN from a Kubernetes Secret or a
// file often ends with a newline. serve and the worker trim it
// (slackapp.ConfigFromEnv), so Slack approvals work; doctor sent it as
// read, Go's HTTP client refused the header, and doctor printed
// "FAIL slack auth.test: … invalid header field value" for a setup that
// works.
func TestDoctorSlackTrimsTheBotTokenAsServeDoes(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	for _, k := range []string{"RIPOSTE_DECISION_KEY_FILE", "RIPOSTE_DECISION_KEYS", "RIPOSTE_NO_ENCRYPTION", "RIPOSTE_PLAYBOOK_STORE", "RIPOSTE_STICKY_CACHE", "SLACK_APP_TOKEN", "SLACK_ENTERPRISE_ID"} {
		t.Setenv(k, "")
	}
	t.Setenv("SLACK_API_URL", fake.URL())
	t.Setenv("SLACK_APP_ID", slackfake.AppID)
	t.Setenv("SLACK_TEAM_ID", slackfake.TeamID)
	for _, tok := range []string{slackfake.BotToken + "\n", slackfake.BotToken + "\r\n", "  " + slackfake.BotToken + " \n"} {
		t.Setenv("SLACK_BOT_TOKEN", tok)
		var out, errb bytes.Buffer
		Main(context.Background(), []string{"doctor", "--temporal-address", "127.0.0.1:1", "--timeout", "1s", "--config", t.TempDir() + "/none.yaml"},
			Streams{Out: &out, Err: &errb})
		line := ""
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.Contains(l, " slack ") {
				line = l
			}
		}
		if !strings.HasPrefix(line, "ok") {
			t.Errorf("SLACK_BOT_TOKEN %q (whitespace around a good token): %q, want ok as serve takes it", tok, line)
		}
	}
}

// SLACK_API_URL from a Kubernetes Secret or ConfigMap file ends with a
// newline as often as the token does. serve and the worker read it
// trimmed (slackapp.ConfigFromEnv); doctor read it as it was and could
// not even build the auth.test request, failing a setup that works.
func TestDoctorSlackTrimsTheAPIURLAsServeDoes(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	for _, k := range []string{"RIPOSTE_DECISION_KEY_FILE", "RIPOSTE_DECISION_KEYS", "RIPOSTE_NO_ENCRYPTION", "RIPOSTE_PLAYBOOK_STORE", "RIPOSTE_STICKY_CACHE", "SLACK_APP_TOKEN", "SLACK_ENTERPRISE_ID"} {
		t.Setenv(k, "")
	}
	t.Setenv("SLACK_BOT_TOKEN", slackfake.BotToken)
	t.Setenv("SLACK_APP_ID", slackfake.AppID)
	t.Setenv("SLACK_TEAM_ID", slackfake.TeamID)
	for _, u := range []string{fake.URL() + "\n", fake.URL() + "/\r\n", " " + fake.URL() + " "} {
		t.Setenv("SLACK_API_URL", u)
		var out, errb bytes.Buffer
		Main(context.Background(), []string{"doctor", "--temporal-address", "127.0.0.1:1", "--timeout", "1s", "--config", t.TempDir() + "/none.yaml"},
			Streams{Out: &out, Err: &errb})
		line := ""
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.Contains(l, " slack ") {
				line = l
			}
		}
		if !strings.HasPrefix(line, "ok") {
			t.Errorf("SLACK_API_URL %q (whitespace around a good URL): %q, want ok as serve takes it", u, line)
		}
	}
}
