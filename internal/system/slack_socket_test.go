package system

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
)

// With Socket Mode (SLACK_APP_TOKEN set, the manifest's default) every
// click reaches Riposte over the connection the app token opens. A token
// Slack refuses (revoked, mistyped, an xoxb- pasted in its place, a token
// of another app) means no click can ever be received: approvers clicking
// in Slack see "this app is not responding" while requests keep being
// posted. riposte serve must refuse to start then (exit 2, naming
// SLACK_APP_TOKEN), as it does for the other Slack settings it can check,
// instead of logging once in the background and serving on without Slack.
func TestServeRefusesAnAppTokenSlackRefuses(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	for name, tok := range map[string]string{
		"revoked":             "xapp-1-revoked",
		"another app's token": "xapp-1-A0OTHER0001-other",
	} {
		t.Run(name, func(t *testing.T) {
			s := &System{logger: slog.New(slog.DiscardHandler), slack: slackapp.Config{
				BotToken: slackfake.BotToken, AppToken: tok, APIURL: fake.URL(), ApprovalChannel: "C0RIPOSTE01",
				TeamID: slackfake.TeamID, AppID: slackfake.AppID,
			}}
			srv := &api.Server{Public: map[string]http.Handler{}, Extra: map[string]http.Handler{}}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			closers, err := s.mountSlack(ctx, srv)
			for _, c := range closers {
				c()
			}
			if err == nil || !strings.Contains(err.Error(), slackapp.EnvAppToken) {
				t.Fatalf("mountSlack with an app token Slack refuses: err = %v; want a start-up error naming %s", err, slackapp.EnvAppToken)
			}
			var se *Error
			if !errors.As(err, &se) || se.Code != 2 {
				t.Errorf("err = %#v, want a configuration error (exit 2)", err)
			}
		})
	}
	t.Run("valid token starts", func(t *testing.T) {
		s := &System{logger: slog.New(slog.DiscardHandler), slack: slackapp.Config{
			BotToken: slackfake.BotToken, AppToken: slackfake.AppToken, APIURL: fake.URL(), ApprovalChannel: "C0RIPOSTE01",
			TeamID: slackfake.TeamID, AppID: slackfake.AppID,
		}}
		srv := &api.Server{Public: map[string]http.Handler{}, Extra: map[string]http.Handler{}}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		closers, err := s.mountSlack(ctx, srv)
		for _, c := range closers {
			defer c()
		}
		if err != nil {
			t.Fatalf("mountSlack with a valid app token: %v", err)
		}
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		defer wcancel()
		if err := fake.WaitConnected(wctx); err != nil {
			t.Fatalf("Socket Mode did not connect: %v", err)
		}
	})
}
