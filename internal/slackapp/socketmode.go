package slackapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
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
	return RunSocketModeState(ctx, cfg, poster, decider, logger, nil)
}

// RunSocketModeState is RunSocketMode keeping state (may be nil) current:
// connected or not, since when, the last connection error, and why it
// stopped for good when it returns an error.
func RunSocketModeState(ctx context.Context, cfg Config, poster *Poster, decider Decider, logger *slog.Logger, state *SocketState) (err error) {
	if state != nil {
		defer func() {
			if err != nil {
				state.stop(err)
			}
		}()
	}
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
	seen := newReplayCache(DefaultReplayCacheSize)
	waiting := &unanswered{}
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
			state.observe(evt, logger)
			if duplicateEnvelope(sm, seen, waiting, logger, evt, time.Now()) {
				continue
			}
			handleSocketEvent(runCtx, sm, proc, logger, evt, seen, waiting)
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

// EnvelopeMemory is how long Socket Mode remembers an envelope's id to
// drop it when Slack sends it again: Slack resends an envelope whose ack
// it did not get in time (retry_attempt 1, 2, …) within minutes.
const EnvelopeMemory = time.Hour

// duplicateEnvelope acks and drops an envelope whose envelope_id was
// received before (Slack sending it again: its ack was late or lost), and
// reports whether it did. The click was handled once; handling it again
// would vote twice, and tell the person their vote was refused ("already
// voted") though it was recorded. This memory is the process's: a resend
// reaching another replica is decided there, and its decision names the
// same interaction (interactionID) as the first, which Temporal runs once.
// A resend of a reason form whose first delivery is not answered yet
// (waiting for a slot) is dropped without an ack: the first delivery's
// ack, with the same envelope_id, answers it, so the form gets that answer
// (its busy error keeps it open), not an empty ack that closes it first;
// a form answered busy is forgotten (handleSocketEvent), so a resend
// arriving after that answer is handled again, and one more resend
// arriving while that one waits gets its answer in turn (unanswered
// counts the deliveries being answered).
func duplicateEnvelope(sm *socketmode.Client, seen *replayCache, waiting *unanswered, logger *slog.Logger, evt socketmode.Event, now time.Time) bool {
	req := evt.Request
	if req == nil || req.EnvelopeID == "" {
		return false
	}
	switch evt.Type {
	case socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI, socketmode.EventTypeSlashCommand:
	default:
		return false
	}
	if seen.add(req.EnvelopeID, now.Add(EnvelopeMemory), now) {
		return false
	}
	if waiting.has(req.EnvelopeID) {
		logger.Info("slack socket mode: envelope received again while its first delivery is being answered; that answer acks it",
			"envelope_id", req.EnvelopeID, "retry_attempt", req.RetryAttempt, "retry_reason", req.RetryReason)
		return true
	}
	logger.Info("slack socket mode: envelope received again, acked and dropped (handled once)",
		"envelope_id", req.EnvelopeID, "retry_attempt", req.RetryAttempt, "retry_reason", req.RetryReason)
	_ = ackOrWarn(sm, logger, *req)
	return true
}

// busySubmission is what a reason form says when every interaction slot
// stayed busy: the form stays open with its reason.
const busySubmission = "Riposte is busy with other decisions; submit again in a moment."

// unanswered counts, by envelope id, the deliveries of reason forms handed
// to a goroutine that has not acked them yet (duplicateEnvelope). A count,
// not a mark: a resend handled again after a busy answer (the first
// delivery forgot it) may start before that first delivery is done, and
// the first one's end must not unmark the resend still waiting, whose ack
// answers a third delivery.
type unanswered struct {
	mu  sync.Mutex
	ids map[string]int
}

func (u *unanswered) add(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ids == nil {
		u.ids = map[string]int{}
	}
	u.ids[id]++
}

func (u *unanswered) done(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ids[id]--; u.ids[id] <= 0 {
		delete(u.ids, id)
	}
}

func (u *unanswered) has(id string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.ids[id] > 0
}

func handleSocketEvent(ctx context.Context, sm *socketmode.Client, proc *Processor, logger *slog.Logger, evt socketmode.Event, seen *replayCache, waiting *unanswered) {
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
		} else {
			// Marked before the read loop reads on: a resend of it is
			// answered by this delivery's ack (duplicateEnvelope).
			waiting.add(req.EnvelopeID)
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
				defer waiting.done(req.EnvelopeID)
				if err != nil {
					// The form stays open with its reason: nothing typed is lost.
					// Nothing was decided: should Slack send the envelope
					// again (this answer late or lost), it is handled as the
					// submission it still is, not acked empty as handled
					// (which would close the form, nothing decided).
					seen.forget(req.EnvelopeID)
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

// EnvSocketGrace is how long Socket Mode may be without a connection
// (reconnecting) before SocketState.Err reports it; DefaultSocketGrace
// when unset.
const EnvSocketGrace = "RIPOSTE_SLACK_SOCKET_GRACE"

// DefaultSocketGrace is the grace when unset. Slack refreshes a connection
// every few hours and a reconnect takes a second or two; a minute without one is an outage
// (Socket Mode turned off for the app, link_disabled, retried in vain; Slack
// unreachable).
const DefaultSocketGrace = time.Minute

// SocketGraceFromEnv is EnvSocketGrace, or DefaultSocketGrace when unset.
func SocketGraceFromEnv() (time.Duration, error) {
	v := strings.TrimSpace(os.Getenv(EnvSocketGrace))
	if v == "" {
		return DefaultSocketGrace, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s %q: want a positive duration such as 1m", EnvSocketGrace, v)
	}
	return d, nil
}

// SocketState is the health of a Socket Mode connection, which
// RunSocketModeState keeps current: for readiness (Err), a metric
// (OnChange) and the logs. Approvals clicked in Slack arrive only while
// it is connected.
type SocketState struct {
	// Grace is how long the connection may be down (reconnecting) before
	// Err reports it. Default DefaultSocketGrace.
	Grace time.Duration
	// OnChange, when set, is called with the new value each time the
	// connection comes up or goes down (not under the state's lock).
	OnChange func(connected bool)
	// Now is the clock; default time.Now.
	Now func() time.Time

	mu        sync.Mutex
	connected bool
	since     time.Time // when it went down (or was created)
	lastErr   string
	stopped   error
	logged    bool // the outage past Grace was logged
}

// NewSocketState returns the state of a connection not yet open.
func NewSocketState(grace time.Duration) *SocketState {
	s := &SocketState{Grace: grace}
	s.since = s.now()
	return s
}

func (s *SocketState) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *SocketState) grace() time.Duration {
	if s.Grace > 0 {
		return s.Grace
	}
	return DefaultSocketGrace
}

// Connected reports whether a Socket Mode connection is open.
func (s *SocketState) Connected() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Err is nil while Socket Mode is connected or has been reconnecting for
// less than Grace; else it says why clicks in Slack do not arrive.
func (s *SocketState) Err() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errLocked()
}

func (s *SocketState) errLocked() error {
	switch {
	case s.stopped != nil:
		//lint:ignore ST1005 "Slack" is a proper noun, and the message is shown to the operator as is
		return fmt.Errorf("Slack Socket Mode stopped: %v; approvals clicked in Slack do not arrive (decide with riposte approve, and fix %s)", s.stopped, EnvAppToken)
	case s.connected:
		return nil
	}
	down := s.now().Sub(s.since)
	if down < s.grace() {
		return nil
	}
	why := "no connection"
	if s.lastErr != "" {
		why = "last error: " + s.lastErr
	}
	//lint:ignore ST1005 "Slack" is a proper noun, and the message is shown to the operator as is
	return fmt.Errorf("Slack Socket Mode has had no connection for %s (%s): approvals clicked in Slack do not arrive; check that Socket Mode is on in the app's settings and %s is valid", down.Round(time.Second), why, EnvAppToken)
}

// set records connected or not and calls OnChange on a change.
func (s *SocketState) set(connected bool, errText string) {
	s.mu.Lock()
	changed := s.connected != connected
	s.connected = connected
	if connected {
		s.lastErr, s.logged = "", false
	} else if changed {
		s.since = s.now()
	}
	if errText != "" {
		s.lastErr = errText
	}
	s.mu.Unlock()
	if changed && s.OnChange != nil {
		s.OnChange(connected)
	}
}

// stop records that Socket Mode stopped for good.
func (s *SocketState) stop(err error) {
	s.set(false, err.Error())
	s.mu.Lock()
	s.stopped = err
	s.mu.Unlock()
}

// observe updates the state from a Socket Mode event, and logs an error
// once an outage has lasted past Grace.
func (s *SocketState) observe(evt socketmode.Event, logger *slog.Logger) {
	if s == nil {
		return
	}
	switch evt.Type {
	case socketmode.EventTypeConnected:
		s.set(true, "")
		return
	case socketmode.EventTypeConnecting:
		s.set(false, "")
	case socketmode.EventTypeConnectionError:
		text := fmt.Sprint(evt.Data)
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok && ce.ErrorObj != nil {
			text = ce.ErrorObj.Error()
		}
		s.set(false, text)
	case socketmode.EventTypeInvalidAuth:
		s.set(false, "Slack refused the app-level token")
	default:
		return
	}
	s.mu.Lock()
	err := s.errLocked()
	log := err != nil && !s.logged
	if log {
		s.logged = true
	}
	s.mu.Unlock()
	if log {
		logger.Error(err.Error())
	}
}
