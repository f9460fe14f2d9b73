package slackapp

import (
	"os"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

// The app created from docs/slack-app-manifest.yaml (README, Slack step 1)
// must hold every bot scope Riposte calls Slack with. README's connector
// table says slack.post_message needs channels:history/groups:history "for
// safe retries" (FindPosted: conversations.history), and the approval
// request's retry reads the history too; without them a retry after a lost
// answer fails with missing_scope (post_message) or posts twice (the gate).
func TestManifestHasTheScopesRiposteUses(t *testing.T) {
	b, err := os.ReadFile("../../docs/slack-app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	uses := map[string]string{
		"chat:write":        "chat.postMessage, chat.update, chat.postEphemeral",
		"usergroups:read":   "usergroups.users.list (approvers.groups)",
		"channels:history":  "conversations.history in a public channel (FindPosted: post once)",
		"groups:history":    "conversations.history in a private channel (FindPosted: post once)",
		"chat:write.public": "posting to a public channel the bot was not invited to",
		"users:read":        "users.info: who clicked (CheckDecider; without it every click is refused)",
	}
	for scope, why := range uses {
		if !slices.Contains(m.OAuth.Scopes.Bot, scope) {
			t.Errorf("the manifest's bot scopes %v lack %s, needed for %s", m.OAuth.Scopes.Bot, scope, why)
		}
	}
}
