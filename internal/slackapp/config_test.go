package slackapp

import (
	"strings"
	"testing"
)

func TestConfigFromEnv(t *testing.T) {
	t.Setenv(EnvBotToken, " xoxb-1 ")
	t.Setenv(EnvAppToken, "xapp-1")
	t.Setenv(EnvSigningSecret, "secret")
	t.Setenv(EnvAPIURL, "http://127.0.0.1:1234/api/")
	t.Setenv(EnvApprovalChannel, "C0RIPOSTE1")
	t.Setenv(EnvPublicUIURL, "https://temporal.example")
	t.Setenv(EnvTeamID, "T1")
	t.Setenv(EnvAppID, "A1")
	t.Setenv(EnvEnterpriseID, "")
	got := ConfigFromEnv()
	want := Config{BotToken: "xoxb-1", AppToken: "xapp-1", SigningSecret: "secret", APIURL: "http://127.0.0.1:1234/api/",
		ApprovalChannel: "C0RIPOSTE1", PublicUIURL: "https://temporal.example", TeamID: "T1", AppID: "A1"}
	if got != want {
		t.Errorf("ConfigFromEnv = %+v, want %+v", got, want)
	}
	if !got.Enabled() || !got.SocketMode() {
		t.Error("Enabled/SocketMode false")
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{BotToken: "xoxb-123-abc", SigningSecret: "s", ApprovalChannel: "C1", TeamID: "T1", AppID: "A1"}
	tests := []struct {
		name string
		mod  func(*Config)
		want []string // substrings of the error; none: valid
	}{
		{name: "nothing set: Slack disabled", mod: func(c *Config) { *c = Config{} }},
		{name: "HTTP interactivity", mod: func(*Config) {}},
		{name: "socket mode", mod: func(c *Config) { c.SigningSecret, c.AppToken = "", "xapp-1-A-1" }},
		{name: "app token without bot token", mod: func(c *Config) { *c = Config{AppToken: "xapp-1"} }, want: []string{EnvBotToken}},
		{name: "user token as bot token", mod: func(c *Config) { c.BotToken = "xoxp-123-secret" }, want: []string{EnvBotToken, "xoxb-", `"xoxp-"`}},
		{name: "bot token as app token", mod: func(c *Config) { c.AppToken = "xoxb-123" }, want: []string{EnvAppToken, "xapp-"}},
		{name: "no way to receive clicks", mod: func(c *Config) { c.SigningSecret = "" }, want: []string{EnvAppToken, EnvSigningSecret}},
		{name: "no channel", mod: func(c *Config) { c.ApprovalChannel = "" }, want: []string{EnvApprovalChannel}},
		{name: "no workspace id", mod: func(c *Config) { c.TeamID = "" }, want: []string{EnvTeamID, EnvAppID, "refused"}},
		{name: "no app id", mod: func(c *Config) { c.AppID = "" }, want: []string{EnvTeamID, EnvAppID}},
		{name: "bad API URL", mod: func(c *Config) { c.APIURL = "127.0.0.1:1234" }, want: []string{EnvAPIURL}},
		{name: "bad UI URL", mod: func(c *Config) { c.PublicUIURL = "ftp://x" }, want: []string{EnvPublicUIURL}},
		{name: "several problems", mod: func(c *Config) { c.BotToken, c.ApprovalChannel = "bad", "" }, want: []string{EnvBotToken, EnvApprovalChannel}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") && strings.Contains(c.BotToken, "secret") {
				t.Errorf("error leaks the token: %q", err)
			}
		})
	}
}

func TestAPIURLSlash(t *testing.T) {
	for in, want := range map[string]string{"": "", "http://x/api": "http://x/api/", "http://x/api/": "http://x/api/"} {
		if got := (Config{APIURL: in}).apiURL(); got != want {
			t.Errorf("apiURL(%q) = %q", in, got)
		}
	}
}

func TestRunURL(t *testing.T) {
	c := Config{PublicUIURL: "https://temporal.example/"}
	if got := c.RunURL("", "det 1/x", "r1"); got != "https://temporal.example/namespaces/default/workflows/det%201%2Fx/r1/history" {
		t.Errorf("RunURL = %s", got)
	}
	if got := c.RunURL("soc", "wf", ""); got != "https://temporal.example/namespaces/soc/workflows/wf/history" {
		t.Errorf("RunURL = %s", got)
	}
	if got := (Config{}).RunURL("soc", "wf", "r"); got != "" {
		t.Errorf("RunURL without PublicUIURL = %s", got)
	}
}

// The variable names are README's (section Slack), written out here so a
// renamed constant cannot pass unnoticed.
func TestConfigEnvNamesAreREADMEs(t *testing.T) {
	for name, v := range map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-2", "SLACK_APP_TOKEN": "xapp-2", "SLACK_SIGNING_SECRET": "s2",
		"RIPOSTE_APPROVAL_CHANNEL": "C2", "SLACK_TEAM_ID": "T2", "SLACK_APP_ID": "A2", "SLACK_ENTERPRISE_ID": "E2",
		"RIPOSTE_PUBLIC_UI_URL": "https://ui.example", "SLACK_API_URL": "http://127.0.0.1:9/api/",
	} {
		t.Setenv(name, v)
	}
	want := Config{BotToken: "xoxb-2", AppToken: "xapp-2", SigningSecret: "s2", ApprovalChannel: "C2", TeamID: "T2", AppID: "A2",
		EnterpriseID: "E2", PublicUIURL: "https://ui.example", APIURL: "http://127.0.0.1:9/api/"}
	if got := ConfigFromEnv(); got != want {
		t.Errorf("ConfigFromEnv = %+v, want %+v", got, want)
	}
}
