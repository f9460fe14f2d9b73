package slackapp

import (
	"github.com/riposte-dev/riposte/internal/slackfake"

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
	for _, s := range BotScopes {
		if !slices.Contains(m.OAuth.Scopes.Bot, s.Scope) {
			t.Errorf("the manifest's bot scopes %v lack %s, needed for %s", m.OAuth.Scopes.Bot, s.Scope, s.Calls)
		}
	}
	// The Slack fake's bot token holds the manifest's scopes.
	if got, want := slices.Sorted(slices.Values(slackfake.ManifestScopes)), slices.Sorted(slices.Values(m.OAuth.Scopes.Bot)); !slices.Equal(got, want) {
		t.Errorf("slackfake.ManifestScopes %v, the manifest's bot scopes %v", got, want)
	}
}
