package cli

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"

	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/internal/slacklab"
)

// Slack fake workspace of riposte dev: the approval channel, a user group
// the shipped playbooks name, and the users the lab page offers.
const (
	labSlackChannel = "C0RIPOSTE01"
)

var (
	labSlackGroups = map[string][]string{
		"S0SOCONCALL": {"U0ONCALL001", "U0ONCALL002"},
	}
	labSlackUsers = []string{"U0SOCLEAD1", "U0SOCLEAD2", "U0INFRA001", "U0CISO0001", "URECORDER", "UOTHER"}
)

// startSlackFake starts the Slack fake and returns the Slack configuration
// pointing at it (with a fresh signing secret), the /lab/slack handler that
// sends signed clicks to apiURL's /slack/interactions, and a stop function.
func startSlackFake(apiURL, uiURL string) (*slackapp.Config, http.Handler, func(), error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, nil, nil, fmt.Errorf("slack fake signing secret: %w", err)
	}
	fake := slackfake.New()
	for id, members := range labSlackGroups {
		fake.SetGroup(id, members...)
	}
	cfg := &slackapp.Config{
		BotToken:        slackfake.BotToken,
		APIURL:          fake.URL(),
		SigningSecret:   hex.EncodeToString(secret),
		ApprovalChannel: labSlackChannel,
		PublicUIURL:     uiURL,
		// The fake's clicks come from its own workspace and app.
		TeamID: slackfake.TeamID,
		AppID:  slackfake.AppID,
	}
	h := slacklab.Handler(slacklab.Options{
		Fake: fake, InteractionsURL: apiURL + slackfake.InteractionsPath, SigningSecret: cfg.SigningSecret, Users: labSlackUsers,
	})
	return cfg, h, fake.Close, nil
}
