package system

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
	"github.com/riposte-dev/riposte/internal/slacklab"
)

// Slack fake workspace of riposte dev: the approval channel, a user group
// the shipped playbooks name, and the users the lab page offers.
const labSlackChannel = "C0RIPOSTE01"

var (
	labSlackGroups = map[string][]string{
		"S0SOCONCALL": {"U0ONCALL001", "U0ONCALL002"},
	}
	labSlackUsers = []string{"U0SOCLEAD1", "U0SOCLEAD2", "U0INFRA001", "U0CISO0001", "URECORDER", "UOTHER"}
)

// resolveSlack chooses the Slack configuration of worker and API: the
// SLACK_* environment, the Slack fake, or none.
//
// stateFile, when set, keeps the fake's messages across restarts.
func (s *System) resolveSlack(mode SlackMode, apiURL, uiURL, stateFile string) error {
	switch mode {
	case SlackOff:
		return nil
	case SlackFakeWithoutToken:
		if strings.TrimSpace(os.Getenv(slackapp.EnvBotToken)) == "" {
			if apiURL == "" {
				return errors.New("the Slack fake needs the HTTP API: its clicks are posted to /slack/interactions")
			}
			return s.startSlackFake(apiURL, uiURL, stateFile)
		}
	}
	// checkSlackEnv checked it before anything started.
	s.slack = slackapp.ConfigFromEnv()
	return nil
}

// checkSlackEnv checks the SLACK_* settings that resolveSlack and
// mountSlack will use, before anything starts: a mistake in them is
// reported at start, not after connecting to Temporal. withAPI: the API
// runs in this process (it takes the clicks: a signing secret or an
// app-level token without a bot token is refused).
func checkSlackEnv(mode SlackMode, withAPI bool) error {
	env := slackapp.ConfigFromEnv()
	fake := mode == SlackFakeWithoutToken && !env.Enabled()
	switch {
	case fake:
		return nil
	case mode != SlackOff && env.Enabled():
		if err := env.Validate(); err != nil {
			//lint:ignore ST1005 "Slack" is a proper noun, and the message is shown to the operator as is
			return &Error{Code: 2, Err: fmt.Errorf("Slack configuration: %w", err)}
		}
		if withAPI && env.SocketMode() {
			if _, err := slackapp.SocketGraceFromEnv(); err != nil {
				//lint:ignore ST1005 "Slack" is a proper noun, and the message is shown to the operator as is
				return &Error{Code: 2, Err: fmt.Errorf("Slack configuration: %w", err)}
			}
		}
	case withAPI && (env.AppToken != "" || env.SigningSecret != ""):
		//lint:ignore ST1005 "Slack" is a proper noun, and the message is shown to the operator as is
		return &Error{Code: 2, Err: fmt.Errorf("Slack configuration: SLACK_APP_TOKEN or SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not (%v)", env.Validate())}
	}
	return nil
}

// startSlackFake starts the Slack fake with a fresh signing secret; its
// page /lab/slack sends signed clicks to apiURL's /slack/interactions.
//
// With stateFile set, the fake starts with the messages it had posted
// (riposte dev restarted with the same data dir: the request messages of
// runs still waiting at a gate are still there to click, and their updates
// still land) and saves them there as they change.
func (s *System) startSlackFake(apiURL, uiURL, stateFile string) error {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("slack fake signing secret: %w", err)
	}
	fake := slackfake.New()
	s.closers = append(s.closers, fake.Close)
	if stateFile != "" {
		stop, err := fake.Persist(stateFile, func(err error) { s.logger.Warn("slack fake", "error", err) })
		if err != nil {
			return fmt.Errorf("slack fake: %w (delete the file to start with an empty channel)", err)
		}
		s.closers = append(s.closers, stop)
	}
	for id, members := range labSlackGroups {
		fake.SetGroup(id, members...)
	}
	s.slack = slackapp.Config{
		BotToken:        slackfake.BotToken,
		APIURL:          fake.URL(),
		SigningSecret:   hex.EncodeToString(secret),
		ApprovalChannel: labSlackChannel,
		PublicUIURL:     uiURL,
		// The fake's clicks come from its own workspace and app.
		TeamID: slackfake.TeamID,
		AppID:  slackfake.AppID,
	}
	s.SlackFake = true
	s.slackLab = slacklab.Handler(slacklab.Options{
		Fake: fake, InteractionsURL: apiURL + slackfake.InteractionsPath, SigningSecret: s.slack.SigningSecret, Users: labSlackUsers,
	})
	return nil
}

// SlackFakeSigningSecret is the Slack fake's signing secret (drawn at each
// start), for riposte dev's tests to sign clicks with; empty when approvals
// go to a real Slack app or nowhere.
func (s *System) SlackFakeSigningSecret() string {
	if !s.SlackFake {
		return ""
	}
	return s.slack.SigningSecret
}

// mountSlack adds Slack's interactions to the API: signed HTTP requests
// and/or Socket Mode, and the fake's page.
func (s *System) mountSlack(ctx context.Context, srv *api.Server) ([]func(), error) {
	scfg := s.slack
	if s.slackLab != nil {
		srv.Public["GET /lab/slack"] = s.slackLab
		srv.Public["POST /lab/slack/click"] = s.slackLab
	}
	if !scfg.Enabled() {
		// A signing secret or app-level token without a bot token was
		// refused at start (checkSlackEnv).
		return nil, nil
	}
	poster, err := slackapp.NewPoster(scfg, slackapp.PosterOptions{Logger: s.logger})
	if err != nil {
		return nil, err
	}
	// A run Temporal terminates or times out at a gate runs no code at
	// its end: its approval messages are closed from here.
	approvals.WatchEndedRuns(ctx, approvals.EndedRunsOptions{Client: s.Client, Namespace: s.Temporal.Namespace,
		DataConverter: s.dataConverter, Closer: poster, Logger: s.logger})
	popts := slackapp.ProcessorOptions{Decider: srv.Approvals, Poster: poster, Logger: s.logger,
		TeamID: scfg.TeamID, AppID: scfg.AppID, EnterpriseID: scfg.EnterpriseID}
	var closers []func()
	if scfg.SigningSecret != "" {
		h, err := slackapp.NewHandler(slackapp.HandlerOptions{ProcessorOptions: popts, SigningSecret: scfg.SigningSecret})
		if err != nil {
			return nil, err
		}
		srv.Public["POST /slack/interactions"] = h
		closers = append(closers, h.Close)
	}
	if scfg.SocketMode() {
		// A token Slack refuses would leave the API up with no click ever
		// reaching it: refuse to start instead. Slack unreachable for now
		// is only a warning; RunSocketMode keeps trying.
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := slackapp.CheckAppToken(cctx, scfg, nil)
		cancel()
		switch {
		case errors.Is(err, slackapp.ErrAppTokenRefused):
			for _, c := range closers {
				c()
			}
			//lint:ignore ST1005 "Slack" is a proper noun, and the message is shown to the operator as is
			return nil, &Error{Code: 2, Err: fmt.Errorf("Slack configuration: %w", err)}
		case err != nil:
			s.logger.Warn("Slack Socket Mode: could not check the app-level token now; retrying in the background", "error", err)
		}
		grace, err := slackapp.SocketGraceFromEnv()
		if err != nil {
			for _, c := range closers {
				c()
			}
			//lint:ignore ST1005 "Slack" is a proper noun, and the message is shown to the operator as is
			return nil, &Error{Code: 2, Err: fmt.Errorf("Slack configuration: %w", err)}
		}
		// Socket Mode that stops while the process runs (the app token
		// revoked, Socket Mode turned off for the app: link_disabled) is
		// made visible, not only logged: the metric drops to 0 and
		// /readyz on the metrics port answers 503 naming it. The process
		// stays up: intake and approvals through the API and CLI still
		// work, and a restart would not mend a revoked token.
		state := slackapp.NewSocketState(grace)
		s.SlackSocket = state
		s.Metrics.WatchSlackSocketMode(state.Connected)
		s.MetricsServer.AddReadyCheck(func(context.Context) error { return state.Err() })
		// At shutdown (ctx done) the connection closes, and the clicks
		// already acked finish (slackapp.CloseGrace) before the Temporal
		// client they decide through is closed: the API's closers wait.
		sctx, stopSocket := context.WithCancel(ctx)
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			if err := slackapp.RunSocketModeState(sctx, scfg, poster, srv.Approvals, s.logger, state); err != nil {
				s.logger.Error("Slack Socket Mode stopped: approvals clicked in Slack no longer arrive (decide with riposte approve; fix "+slackapp.EnvAppToken+" and restart)", "error", err)
			}
		}()
		closers = append(closers, func() {
			stopSocket()
			select {
			case <-stopped:
			case <-time.After(slackapp.CloseGrace + 5*time.Second):
				s.logger.Warn("Slack Socket Mode did not stop in time")
			}
		})
	}
	return closers, nil
}
