package slackapp

import (
	"container/list"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/riposte-dev/riposte/internal/problem"
)

// Request signing, as Slack documents it.
const (
	HeaderSignature = "X-Slack-Signature"
	HeaderTimestamp = "X-Slack-Request-Timestamp"
	// SignatureWindow is how far a request's timestamp may be from now.
	SignatureWindow = 5 * time.Minute
)

// Defaults of HandlerOptions.
const (
	DefaultMaxBody         = 256 << 10
	DefaultReplayCacheSize = 10000
	DefaultQueueWait       = time.Second
)

// Problem type URIs of the handler's error responses.
const (
	ProblemTypeUnauthorized = "https://riposte.dev/problems/slack-signature"
	ProblemTypeReplay       = "https://riposte.dev/problems/slack-replay"
	ProblemTypeMalformed    = "https://riposte.dev/problems/slack-malformed-interaction"
	ProblemTypeTooLarge     = "https://riposte.dev/problems/slack-body-too-large"
	ProblemTypeBusy         = "https://riposte.dev/problems/slack-busy"
	ProblemTypeForeign      = "https://riposte.dev/problems/slack-foreign-origin"
)

// HandlerOptions configures the HTTP interactivity handler.
type HandlerOptions struct {
	ProcessorOptions
	// SigningSecret is the app's signing secret. Required.
	SigningSecret string
	// MaxBody limits the request body. Default 256 KiB.
	MaxBody int64
	// ReplayCacheSize bounds the signatures remembered to refuse replays.
	// Default 10000.
	ReplayCacheSize int
	// QueueWait is how long a request may wait for a free worker before the
	// handler answers 503. Default 1s (Slack wants an answer within 3s).
	QueueWait time.Duration
}

// Handler serves POST /slack/interactions: Slack's interactivity Request
// URL. It verifies the request's signature and freshness, refuses replays,
// acknowledges at once and processes the interaction in the background.
type Handler struct {
	proc    *Processor
	secret  []byte
	maxBody int64
	wait    time.Duration
	replay  *replayCache
}

// NewHandler returns the handler.
func NewHandler(opts HandlerOptions) (*Handler, error) {
	if opts.SigningSecret == "" {
		return nil, fmt.Errorf("slackapp: the signing secret is required for HTTP interactivity: set %s", EnvSigningSecret)
	}
	proc, err := NewProcessor(opts.ProcessorOptions)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		proc:    proc,
		secret:  []byte(opts.SigningSecret),
		maxBody: opts.MaxBody,
		wait:    opts.QueueWait,
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.wait <= 0 {
		h.wait = DefaultQueueWait
	}
	size := opts.ReplayCacheSize
	if size <= 0 {
		size = DefaultReplayCacheSize
	}
	h.replay = newReplayCache(size)
	return h, nil
}

// Processor returns the handler's processor (to Wait for or Close it).
func (h *Handler) Processor() *Processor { return h.proc }

// ProcessInteraction handles one payload synchronously (see
// Processor.ProcessInteraction); ServeHTTP runs it in the background.
func (h *Handler) ProcessInteraction(ctx context.Context, payload slack.InteractionCallback) error {
	return h.proc.ProcessInteraction(ctx, payload)
}

// Close stops background work: see Processor.Close.
func (h *Handler) Close() { h.proc.Close() }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		problem.Write(w, problem.Problem{Status: http.StatusMethodNotAllowed, Detail: "Slack interactions are POSTed"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			problem.Write(w, problem.Problem{Type: ProblemTypeTooLarge, Title: "Interaction body too large",
				Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the body exceeds %d bytes", h.maxBody)})
			return
		}
		problem.Write(w, problem.Problem{Type: ProblemTypeMalformed, Title: "Unreadable interaction body", Status: http.StatusBadRequest})
		return
	}
	now := h.proc.now()
	ts, err := VerifySignature(h.secret, r.Header, body, now)
	if err != nil {
		// Audited: a forged or stale click is an attack on the gate.
		h.proc.logger.Warn("audit: slack interaction refused", "remote", r.RemoteAddr, "refusal", "signature: "+err.Error())
		problem.Write(w, problem.Problem{Type: ProblemTypeUnauthorized, Title: "Invalid Slack request signature",
			Status: http.StatusUnauthorized, Detail: err.Error()})
		return
	}
	// Keyed on the decoded MAC: the same signature spelt in upper-case hex
	// is the same request.
	mac, _ := hex.DecodeString(strings.TrimPrefix(r.Header.Get(HeaderSignature), "v0="))
	if !h.replay.add(string(mac), ts.Add(SignatureWindow), now) {
		h.proc.logger.Warn("audit: slack interaction refused", "remote", r.RemoteAddr, "refusal", "replayed signed request")
		problem.Write(w, problem.Problem{Type: ProblemTypeReplay, Title: "Replayed Slack request",
			Status: http.StatusConflict, Detail: "this signed request was already received"})
		return
	}
	payload, err := ParseInteraction(r.Header.Get("Content-Type"), body)
	if err != nil {
		problem.Write(w, problem.Problem{Type: ProblemTypeMalformed, Title: "Malformed Slack interaction",
			Status: http.StatusBadRequest, Detail: err.Error()})
		return
	}
	if err := h.proc.CheckOrigin(payload); err != nil {
		h.proc.logger.Warn("audit: slack interaction refused", "user", payload.User.ID, "team", payload.Team.ID,
			"app", payload.APIAppID, "enterprise", payload.Enterprise.ID, "refusal", err.Error())
		problem.Write(w, problem.Problem{Type: ProblemTypeForeign, Title: "Interaction from another workspace or app",
			Status: http.StatusForbidden, Detail: err.Error()})
		return
	}
	if errs := SubmissionErrors(payload); len(errs) > 0 {
		writeJSON(w, slack.NewErrorsViewSubmissionResponse(errs))
		return
	}
	if Relevant(payload) {
		ctx, cancel := context.WithTimeout(r.Context(), h.wait)
		err := h.proc.Dispatch(ctx, payload)
		cancel()
		if err != nil && payload.Type == slack.InteractionTypeViewSubmission {
			// Slack reads a form's answer only from a 200: the form stays
			// open with its reason and says why (as over Socket Mode).
			h.proc.logger.Warn("slack interaction refused: busy", "user", payload.User.ID)
			writeJSON(w, slack.NewErrorsViewSubmissionResponse(map[string]string{ReasonBlockID: busySubmission}))
			return
		}
		if err != nil {
			w.Header().Set("Retry-After", "1")
			problem.Write(w, problem.Problem{Type: ProblemTypeBusy, Title: "Riposte is busy",
				Status: http.StatusServiceUnavailable, Detail: "too many Slack interactions in progress; click again"})
			return
		}
	}
	// An empty 200 acknowledges the interaction (and closes a submitted modal).
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// VerifySignature checks Slack's request signature: X-Slack-Signature must
// be "v0=" + hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)), and
// X-Slack-Request-Timestamp within SignatureWindow of now. It returns the
// request's timestamp.
func VerifySignature(secret []byte, h http.Header, body []byte, now time.Time) (time.Time, error) {
	tsHeader := h.Get(HeaderTimestamp)
	sigHeader := h.Get(HeaderSignature)
	if tsHeader == "" || sigHeader == "" {
		return time.Time{}, fmt.Errorf("missing %s or %s header", HeaderSignature, HeaderTimestamp)
	}
	secs, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil || secs <= 0 || len(tsHeader) > 12 {
		return time.Time{}, fmt.Errorf("%s is not a Unix time", HeaderTimestamp)
	}
	ts := time.Unix(secs, 0)
	if d := now.Sub(ts); d > SignatureWindow || d < -SignatureWindow {
		return time.Time{}, fmt.Errorf("%s is more than %s from now", HeaderTimestamp, SignatureWindow)
	}
	got, ok := strings.CutPrefix(sigHeader, "v0=")
	if !ok {
		return time.Time{}, fmt.Errorf("%s is not a v0 signature", HeaderSignature)
	}
	gotMAC, err := hex.DecodeString(got)
	if err != nil || len(gotMAC) != sha256.Size {
		return time.Time{}, fmt.Errorf("%s is not a hex SHA-256 MAC", HeaderSignature)
	}
	if !hmac.Equal(gotMAC, signMAC(secret, tsHeader, body)) {
		return time.Time{}, errors.New("signature mismatch")
	}
	return ts, nil
}

func signMAC(secret []byte, ts string, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	return mac.Sum(nil)
}

// Sign returns the X-Slack-Signature value for body sent at ts.
func Sign(secret []byte, ts time.Time, body []byte) string {
	return "v0=" + hex.EncodeToString(signMAC(secret, strconv.FormatInt(ts.Unix(), 10), body))
}

// ParseInteraction decodes an interaction request body: a form whose one
// "payload" field holds the JSON payload.
func ParseInteraction(contentType string, body []byte) (slack.InteractionCallback, error) {
	var cb slack.InteractionCallback
	if ct := strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0])); ct != "" && ct != "application/x-www-form-urlencoded" {
		return cb, fmt.Errorf("content type %q is not application/x-www-form-urlencoded", ct)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return cb, fmt.Errorf("body is not a form: %v", err)
	}
	// Slack sends one payload field. Two (or one spelt in another case
	// beside it, which a case-insensitive form reader takes for it) make
	// one signed body read as two different clicks: refused.
	n := 0
	for k, vs := range form {
		if strings.EqualFold(k, "payload") {
			n += len(vs)
		}
	}
	if n > 1 {
		return cb, fmt.Errorf("the payload field is given %d times (in any case); Slack sends it once", n)
	}
	payload := form.Get("payload")
	if payload == "" {
		return cb, errors.New("no payload field")
	}
	if err := json.Unmarshal([]byte(payload), &cb); err != nil {
		return cb, fmt.Errorf("payload is not an interaction: %v", err)
	}
	if cb.Type == "" {
		return cb, errors.New("payload has no type")
	}
	return cb, nil
}

// replayCache remembers signatures until their window closes, oldest first,
// never more than max of them: a new key, when it is full, makes room by
// forgetting the oldest one (its window still open), which then counts as
// new again; a key it holds is refused, full or not.
type replayCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of replayEntry, in insertion order
	seen  map[string]*list.Element
}

type replayEntry struct {
	key     string
	expires time.Time
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, order: list.New(), seen: make(map[string]*list.Element)}
}

// add records key until expires and reports whether it was new.
func (c *replayCache) add(key string, expires, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Forgotten by age first; by count only to make room for a new key.
	for e := c.order.Front(); e != nil && !e.Value.(replayEntry).expires.After(now); e = c.order.Front() {
		c.remove(e)
	}
	if el, ok := c.seen[key]; ok {
		if el.Value.(replayEntry).expires.After(now) {
			return false
		}
		c.remove(el)
	}
	for c.order.Len() >= c.max && c.order.Len() > 0 {
		c.remove(c.order.Front())
	}
	c.seen[key] = c.order.PushBack(replayEntry{key: key, expires: expires})
	return true
}

func (c *replayCache) remove(e *list.Element) {
	c.order.Remove(e)
	delete(c.seen, e.Value.(replayEntry).key)
}

// forget drops key: it counts as new when added again.
func (c *replayCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.seen[key]; ok {
		c.order.Remove(el)
		delete(c.seen, key)
	}
}

func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
