package slackapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode receives interactions over Socket Mode until ctx is done:
// it opens a connection with the app token (apps.connections.open), acks
// every envelope as soon as it arrives, and hands Riposte's interactions to
// a Processor built from poster and decider. It reconnects when Slack asks;
// it returns nil when ctx is cancelled, and an error when the connection
// cannot be (re)opened for good (for example a revoked app token).
func RunSocketMode(ctx context.Context, cfg Config, poster *Poster, decider Decider, logger *slog.Logger) error {
	if cfg.AppToken == "" {
		return fmt.Errorf("slackapp: Socket Mode needs an app-level token: set %s", EnvAppToken)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	proc, err := NewProcessor(ProcessorOptions{Decider: decider, Poster: poster, Logger: logger,
		TeamID: cfg.TeamID, AppID: cfg.AppID, EnterpriseID: cfg.EnterpriseID})
	if err != nil {
		return err
	}
	defer proc.Close()

	opts := []slack.Option{
		slack.OptionAppLevelToken(cfg.AppToken),
		slack.OptionLog(slog.NewLogLogger(logger.Handler(), slog.LevelDebug)),
	}
	if u := cfg.apiURL(); u != "" {
		opts = append(opts, slack.OptionAPIURL(u))
	}
	sm := socketmode.New(slack.New(cfg.BotToken, opts...),
		socketmode.OptionLog(slog.NewLogLogger(logger.Handler(), slog.LevelDebug)))

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sm.RunContext(runCtx) }()

	for {
		select {
		case err := <-done:
			if ctx.Err() != nil {
				return nil
			}
			if err == nil || errors.Is(err, context.Canceled) {
				return nil
			}
			if refused := appTokenRefused(err); refused != nil {
				return refused
			}
			return fmt.Errorf("slack socket mode: %w", err)
		case evt := <-sm.Events:
			handleSocketEvent(runCtx, sm, proc, logger, evt)
		}
	}
}

// ErrAppTokenRefused wraps Slack's refusal of the app-level token
// (CheckAppToken, RunSocketMode).
//
//lint:ignore ST1005 "Slack" is a proper noun
var ErrAppTokenRefused = errors.New("Slack refused the app-level token")

// appTokenRefused is the error naming EnvAppToken when err is Slack
// refusing the app-level token, nil for any other error.
func appTokenRefused(err error) error {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "invalid_auth", "not_authed", "token_revoked", "token_expired", "not_allowed_token_type", "account_inactive", "missing_scope":
			return fmt.Errorf("slack socket mode: %w (%s): set %s to an xapp- token of this app with the connections:write scope", ErrAppTokenRefused, se.Err, EnvAppToken)
		}
	}
	return nil
}

// CheckAppToken asks Slack once for a Socket Mode connection
// (apps.connections.open, the call RunSocketMode starts with) and returns
// an error naming EnvAppToken when Slack refuses the app-level token: with
// such a token no click could ever reach Riposte, so a server should not
// start. Any other failure (Slack unreachable for now) is returned as is,
// for the caller to warn about: RunSocketMode keeps retrying then. The
// connection URL Slack answers with is not used (it expires unused).
func CheckAppToken(ctx context.Context, cfg Config, hc *http.Client) error {
	if cfg.AppToken == "" {
		return fmt.Errorf("slackapp: Socket Mode needs an app-level token: set %s", EnvAppToken)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	_, wsURL, err := newClient(cfg, hc).StartSocketModeContext(ctx)
	if err == nil {
		return connectionForApp(wsURL, cfg.AppID)
	}
	if refused := appTokenRefused(err); refused != nil {
		return refused
	}
	return fmt.Errorf("slack socket mode: apps.connections.open: %w", err)
}

// connectionForApp refuses a Socket Mode connection Slack opened for an
// app other than appID. Slack does not refuse another app's valid
// app-level token: it opens a connection for that app, named by the
// app_id of the URL it answers with ("wss://…/link/?ticket=…&app_id=…"),
// over which this app's clicks would never arrive. A URL without an
// app_id is not judged.
func connectionForApp(wsURL, appID string) error {
	u, err := url.Parse(wsURL)
	if err != nil || appID == "" {
		return nil
	}
	if got := u.Query().Get("app_id"); got != "" && !strings.EqualFold(got, appID) {
		return fmt.Errorf("slack socket mode: %w: it is the token of app %s, not of this app (%s %s): set %s to an xapp- token of app %s with the connections:write scope (Basic Information, App-Level Tokens)",
			ErrAppTokenRefused, got, EnvAppID, appID, EnvAppToken, appID)
	}
	return nil
}

// busySubmission is what a reason form says when every interaction slot
// stayed busy: the form stays open with its reason.
const busySubmission = "Riposte is busy with other decisions; submit again in a moment."

func handleSocketEvent(ctx context.Context, sm *socketmode.Client, proc *Processor, logger *slog.Logger, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		logger.Debug("slack socket mode connecting")
	case socketmode.EventTypeConnected:
		logger.Info("slack socket mode connected")
	case socketmode.EventTypeConnectionError:
		logger.Warn("slack socket mode connection failed; retrying", "data", fmt.Sprint(evt.Data))
	case socketmode.EventTypeInvalidAuth:
		logger.Error("slack socket mode: the app token was refused; check " + EnvAppToken)
	case socketmode.EventTypeInteractive:
		if evt.Request == nil {
			return
		}
		payload, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			_ = sm.Ack(*evt.Request)
			return
		}
		if errs := SubmissionErrors(payload); len(errs) > 0 {
			if err := sm.Ack(*evt.Request, slack.NewErrorsViewSubmissionResponse(errs)); err != nil {
				logger.Warn("slack socket mode ack failed", "err", err)
			}
			return
		}
		req := *evt.Request
		if !Relevant(payload) {
			_ = ackOrWarn(sm, logger, req)
			return
		}
		submission := payload.Type == slack.InteractionTypeViewSubmission
		if !submission {
			// A click is acked first: Slack wants it within 3 seconds,
			// whatever Decide does.
			_ = ackOrWarn(sm, logger, req)
		}
		// The wait for a free slot (at most DefaultQueueWait, as over
		// HTTP) happens off the read loop: waiting there would leave the
		// envelopes behind this one unread and unacked past Slack's 3
		// seconds while every slot is busy.
		go func() {
			wctx, cancel := context.WithTimeout(ctx, DefaultQueueWait)
			defer cancel()
			err := proc.Dispatch(wctx, payload)
			if submission {
				if err != nil {
					// The form stays open with its reason: nothing typed is lost.
					_ = ackOrWarn(sm, logger, req, slack.NewErrorsViewSubmissionResponse(map[string]string{ReasonBlockID: busySubmission}))
					logger.Warn("slack interaction refused: busy", "user", payload.User.ID)
					return
				}
				_ = ackOrWarn(sm, logger, req)
				return
			}
			if err != nil {
				logger.Warn("slack interaction dropped: busy", "err", err, "user", payload.User.ID)
				proc.tellBusy(payload)
			}
		}()
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeSlashCommand:
		// Riposte subscribes to neither, but an unacked envelope is retried.
		if evt.Request != nil {
			_ = sm.Ack(*evt.Request)
		}
	case socketmode.EventTypeErrorBadMessage, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		logger.Warn("slack socket mode error", "type", evt.Type, "data", fmt.Sprint(evt.Data))
	}
}

func ackOrWarn(sm *socketmode.Client, logger *slog.Logger, req socketmode.Request, payload ...any) error {
	err := sm.Ack(req, payload...)
	if err != nil {
		logger.Warn("slack socket mode ack failed", "err", err)
	}
	return err
}
