package slackapp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// README, Slack: "With SLACK_APP_TOKEN set, riposte serve (and dev) asks
// Slack for a Socket Mode connection (apps.connections.open) before it
// starts and refuses to start (exit 2, naming SLACK_APP_TOKEN) when Slack
// refuses the token (revoked, another app's, no connections:write)".
// Slack does not refuse another app's valid app-level token: it answers
// with a connection for that app, whose id is in the URL
// ("wss://wss-…slack.com/link/?ticket=12348&app_id=5678", the method's
// documented success response). Connected as that app, Riposte receives
// only its interactions (each refused: api_app_id is not SLACK_APP_ID)
// and none of this app's clicks, which Slack answers "not responding".
// CheckAppToken must refuse a connection opened for an app other than
// SLACK_APP_ID.
func TestCheckAppTokenRefusesAnotherAppsToken(t *testing.T) {
	for _, tc := range []struct {
		appID   string
		refused bool
	}{
		{"A0OTHER0001", true},
		{"A0RIPOSTE01", false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/apps.connections.open") {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"ok":true,"url":"wss://wss-primary.slack.com/link/?ticket=1234-abcd&app_id=` + tc.appID + `"}`))
		}))
		cfg := Config{BotToken: "xoxb-1", AppToken: "xapp-1-" + tc.appID + "-1", APIURL: srv.URL + "/", TeamID: "T0RIPOSTE1", AppID: "A0RIPOSTE01"}
		err := CheckAppToken(context.Background(), cfg, srv.Client())
		srv.Close()
		switch {
		case tc.refused && (err == nil || !errors.Is(err, ErrAppTokenRefused) || !strings.Contains(err.Error(), EnvAppToken) || !strings.Contains(err.Error(), tc.appID)):
			t.Errorf("a token whose connection is for app %s (SLACK_APP_ID is A0RIPOSTE01): err = %v; want the start refused naming %s and %s", tc.appID, err, EnvAppToken, tc.appID)
		case !tc.refused && err != nil:
			t.Errorf("this app's token: %v", err)
		}
	}
}
