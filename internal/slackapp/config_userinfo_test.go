package slackapp

import (
	"strings"
	"testing"
)

// TestConfigRefusesCredentialsInURLs: the Temporal UI is often put behind
// a proxy with basic auth, and RIPOSTE_PUBLIC_UI_URL written with them
// (https://user:password@temporal-ui…) was accepted: RunURL then put the
// password in the "open in Temporal" link of every approval message, in
// the approval channel for every member (and in the API's run URLs). The
// URL must be refused, naming the variable and not printing the password;
// so must a SLACK_API_URL with a password, whatever else is wrong with it.
func TestConfigRefusesCredentialsInURLs(t *testing.T) {
	const pw = "Pa55w0rdZ"
	ok := Config{BotToken: "xoxb-123-abc", SigningSecret: "s", ApprovalChannel: "C1", TeamID: "T1", AppID: "A1"}

	c := ok
	c.PublicUIURL = "https://soc:" + pw + "@temporal-ui.example.com"
	err := c.Validate()
	if err == nil {
		t.Errorf("%s with a password accepted; RunURL = %s", EnvPublicUIURL, c.RunURL("default", "wf", "run"))
	} else if !strings.Contains(err.Error(), EnvPublicUIURL) || strings.Contains(err.Error(), pw) {
		t.Errorf("Validate: %v", err)
	}

	for _, u := range []string{"ftp://soc:" + pw + "@slack.example.com/api/", "https://soc:" + pw + "@slack.example.com:bad/api/", "https://soc:" + pw + "@"} {
		c = ok
		c.APIURL = u
		err = c.Validate()
		if err == nil || !strings.Contains(err.Error(), EnvAPIURL) || strings.Contains(err.Error(), pw) {
			t.Errorf("%s=%s: Validate: %v", EnvAPIURL, u, err)
		}
	}
}
