// Package api serves Riposte's HTTP API: detection intake, playbook reload,
// run listing and inspection. Every /v1 route needs the API token.
package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/internal/identity"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/problem"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/internal/telemetry"
)

// DefaultMaxBody is the default limit of a detection request body.
const DefaultMaxBody = 1 << 20

// Server holds the API's dependencies.
type Server struct {
	Dispatcher *dispatch.Dispatcher
	// Catalog is the action catalog (activities.Catalog()): rollback reads
	// each contain action's undo from it.
	Catalog   *catalog.Catalog
	Temporal  client.Client
	Validator *intake.Validator
	Approvals *approvals.Service
	// Token is the shared (dev) API token; it acts as DevUser. Personal
	// tokens live in Tokens.
	Token string
	// DevUser is the identity the shared token decides as (RIPOSTE_USER);
	// empty means the shared token cannot decide anything.
	DevUser string
	// Tokens holds the personal tokens (nil: none).
	Tokens *auth.Store
	// OIDC verifies IdP bearer tokens (nil: not configured).
	OIDC auth.Verifier
	// Keys seal the decisions this server authenticates (see
	// internal/signing); without them the workflow refuses every decision.
	Keys *signing.Keys
	// SealsControlCredential reports whether every worker verifies seals
	// of extensions, safe-mode switches and rollbacks that cover the
	// sender's credential (engine.WorkersByReference.SealsControlCredential);
	// nil or false: the credential is left out of them (a worker of an
	// earlier release would refuse the seal as forged).
	SealsControlCredential func(ctx context.Context) bool
	// SealsRun reports whether every worker verifies seals of extensions
	// that cover their run (engine.WorkersByReference.SealsRun); then an
	// extension is sealed for, and sent to, the running run.
	SealsRun func(ctx context.Context) bool
	// SealsRolledBackRun reports whether every worker verifies seals of
	// rolled_back marks that cover their run
	// (engine.WorkersByReference.SealsRolledBackRun); then a rollback's
	// mark is sealed for the run it is sent to.
	SealsRolledBackRun func(ctx context.Context) bool
	MaxBody            int64
	Namespace          string
	UIURL              string
	Logger             *slog.Logger
	// Reload re-reads the playbooks; nil disables POST /v1/playbooks/reload.
	Reload func() error
	// Extra routes added by other parts (Slack, lab, metrics), by pattern.
	Extra map[string]http.Handler
	// Public routes skip the API token (they authenticate on their own,
	// like Slack's signed requests).
	Public map[string]http.Handler
	// RateLimit bounds requests per token; zero disables it.
	RateLimit RateLimit
	// Metrics counts detections received, deduplicated and rejected; nil
	// counts nothing.
	Metrics *telemetry.Metrics
	// IntakeConcurrency bounds how many detections of one request are
	// started at once; 0 = DefaultIntakeConcurrency.
	IntakeConcurrency int
}

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.MaxBody <= 0 {
		s.MaxBody = DefaultMaxBody
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	route := func(pattern, scope string, h http.HandlerFunc, params ...string) {
		mux.Handle(pattern, s.auth(scope, s.strictQuery(params, h)))
	}
	route("POST /v1/detections", auth.ScopeIntake, s.detections, "dry_run", "explain", "format", "partial")
	route("POST /v1/playbooks/reload", auth.ScopeAdmin, s.reload)
	route("GET /v1/playbooks", auth.ScopeRead, s.playbooks)
	route("GET /v1/runs", auth.ScopeRead, s.listRuns, "cursor", "kind", "limit", "mode", "outcome", "playbook", "shadow", "status")
	route("GET /v1/runs/{id}", auth.ScopeRead, s.getRun, "run_id")
	route("POST /v1/runs/{id}/approvals", auth.ScopeApprove, s.decide)
	route("GET /v1/approvals", auth.ScopeRead, s.listApprovals)
	route("GET /v1/holds", auth.ScopeRead, s.listHolds)
	route("POST /v1/runs/{id}/rollback", auth.ScopeOperate, s.rollback)
	route("POST /v1/runs/{id}/extend", auth.ScopeOperate, s.extend)
	route("GET /v1/policy", auth.ScopeRead, s.policyState)
	route("POST /v1/policy/safe-mode", auth.ScopeOperate, s.safeMode)
	for p, h := range s.Extra {
		mux.Handle(p, s.auth(auth.ScopeRead, h))
	}
	for p, h := range s.Public {
		mux.Handle(p, h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// The catch-all route hides ServeMux's own 405: ask the mux which
		// other methods the path has.
		if allowed := allowedMethods(mux, r); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			problem.Respond(w, http.StatusMethodNotAllowed, "Method not allowed",
				fmt.Sprintf("%s %s: this path takes %s", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
			return
		}
		problem.Respond(w, http.StatusNotFound, "Not found", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	})
	return s.audited(s.recoverer(s.rateLimited(mux)))
}

// strictQuery refuses, with a 400 naming it, a query parameter the route
// does not read (?dryrun=true, a misspelt ?dry_run, would otherwise be
// dropped and the detection run live; ?stauts=failed would list every
// run), one given twice (which one counts?) and a query string the parser
// would drop pairs of (dry_run=1; or a bad %-escape). params are the
// route's parameters; none means it takes none.
func (s *Server) strictQuery(params []string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := checkQuery(r.Pattern, r.URL.RawQuery, params)
		switch {
		case err == nil:
			h.ServeHTTP(w, r)
		case r.Pattern == "POST /v1/detections":
			s.Metrics.DetectionRejected(telemetry.ReasonMalformed)
			problem.Write(w, intake.DecodeProblem(&intake.DecodeError{Err: intake.ErrMalformed, Index: -1, Offset: -1, Msg: err.Error()}))
		default:
			problem.Respond(w, http.StatusBadRequest, "Bad query parameter", err.Error())
		}
	})
}

// checkQuery checks the raw query string of a request to route against the
// parameters the route reads: no other, each at most once, every pair
// parsable.
func checkQuery(route, raw string, params []string) error {
	if raw == "" {
		return nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return fmt.Errorf("the query string cannot be parsed: %v", err)
	}
	keys := slices.Sorted(maps.Keys(q))
	for _, k := range keys {
		switch {
		case len(params) == 0:
			return fmt.Errorf("%s takes no query parameters; got %q", route, clipID(k))
		case !slices.Contains(params, k):
			return fmt.Errorf("unknown query parameter %q; %s takes %s", clipID(k), route, strings.Join(slices.Sorted(slices.Values(params)), ", "))
		}
	}
	for _, k := range keys {
		if n := len(q[k]); n > 1 {
			return fmt.Errorf("query parameter %q is given %d times; give it once", k, n)
		}
	}
	return nil
}

// allowedMethods lists the methods other than r's that mux routes r's path
// to a real handler (not the catch-all "/"), HEAD with GET.
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method || (m == http.MethodGet && r.Method == http.MethodHead) {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			out = append(out, m)
			if m == http.MethodGet {
				// A GET route answers HEAD too (RFC 9110 §9.3.2): Allow
				// lists it, as ServeMux's own 405 does.
				out = append(out, http.MethodHead)
			}
		}
	}
	return out
}

// recoverer turns a panic into a 500 problem: no stack trace reaches a client.
func (s *Server) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.Error("panic in API handler", "path", LogPath(r.URL.Path), "panic", fmt.Sprint(v))
				problem.Respond(w, http.StatusInternalServerError, "Internal error", "the server could not handle the request")
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// errNoToken and errBadToken are the two plain 401s.
var (
	errNoToken  = errors.New("missing or wrong API token (Authorization: Bearer <token>)")
	errBadToken = errors.New("missing or wrong API token (Authorization: Bearer <token>)")
	// errTokenStore: the token file cannot be read (a server fault: 503).
	errTokenStore = errors.New("the server cannot read its token store; its log says why")
	// errOIDCNotChecked: the bearer may be an OIDC token, not verified yet.
	errOIDCNotChecked = errors.New("OIDC token not verified yet")
)

// Authenticate returns the caller of r: the shared (dev) token, compared in
// constant time, a personal token from the store, or an OIDC bearer token.
func (s *Server) Authenticate(r *http.Request) (*auth.Principal, error) {
	return s.authenticate(r, true)
}

// authenticate checks the bearer against the dev token and the token
// store, and against the OIDC provider when oidc is set (a signature check,
// and a fetch of its keys for a key id it does not know).
func (s *Server) authenticate(r *http.Request, oidc bool) (*auth.Principal, error) {
	got, ok := auth.Bearer(r)
	if !ok {
		return nil, errNoToken
	}
	if s.Token != "" {
		want := sha256.Sum256([]byte(s.Token))
		gotSum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(gotSum[:], want[:]) == 1 {
			return &auth.Principal{Identity: s.DevUser, Scopes: []string{auth.ScopeAdmin}, Kind: auth.KindDev, TokenID: "dev"}, nil
		}
	}
	p, known, err := s.Tokens.Lookup(got)
	if err != nil {
		if !errors.Is(err, auth.ErrRevoked) && !errors.Is(err, auth.ErrNotSlackUser) {
			// The caller learns only that the server cannot check tokens;
			// the file's path and the parse error go to the log.
			s.Logger.Error("token store unreadable; refusing personal tokens", "error", err)
			return nil, errTokenStore
		}
		return nil, err
	}
	if known {
		return p, nil
	}
	if s.OIDC != nil && strings.Count(got, ".") == 2 {
		if !oidc {
			return nil, errOIDCNotChecked
		}
		p, err := s.OIDC.Verify(r.Context(), got)
		if errors.Is(err, auth.ErrOIDCMapping) {
			// The caller learns only that the server cannot check
			// tokens; the file's path and the error go to the log.
			s.Logger.Error("OIDC mapping file unusable; refusing OIDC tokens", "error", err)
			return nil, errTokenStore
		}
		if err != nil {
			return nil, fmt.Errorf("OIDC token refused: %w", err)
		}
		return p, nil
	}
	return nil, errBadToken
}

// Authorizer returns an Authorize func for endpoints that check their
// caller themselves (serve's codec endpoint): the caller authenticates as on
// every API route (the shared token, a personal token or, when configured,
// an OIDC bearer token: the Temporal UI forwards its user's OIDC access
// token to a codec endpoint) and must hold scope. Like every route, the
// audit record names the principal (who decrypted, for the codec) and why
// a refused call was refused.
func (s *Server) Authorizer(scope string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		p, err := s.Authenticate(r)
		if err != nil {
			noteAudit(r, "", "unauthenticated: "+err.Error())
			return false
		}
		noteAudit(r, p.String(), "")
		if !p.Has(scope) {
			noteAudit(r, p.String(), "missing scope "+scope)
			return false
		}
		return true
	}
}

// auth authenticates the caller and checks it holds scope; the principal
// travels in the request context and into the audit record.
func (s *Server) auth(scope string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.Authenticate(r)
		if err != nil {
			if r.Pattern == "POST /v1/detections" {
				s.Metrics.DetectionRejected(telemetry.ReasonUnauthorized)
			}
			if errors.Is(err, errTokenStore) {
				noteAudit(r, "", "refused: "+err.Error())
				problem.Respond(w, http.StatusServiceUnavailable, "Tokens unavailable", err.Error())
				return
			}
			if errors.Is(err, auth.ErrIdPUnavailable) {
				// The IdP is down, not the caller's token wrong: retry.
				s.Logger.Error("OIDC signing keys unavailable; refusing OIDC tokens", "error", err)
				noteAudit(r, "", "refused: "+err.Error())
				w.Header().Set("Retry-After", "30")
				problem.Respond(w, http.StatusServiceUnavailable, "Identity provider unavailable",
					"the OIDC token could not be checked: the identity provider's signing keys (JWKS) could not be fetched; try again later")
				return
			}
			noteAudit(r, "", "unauthenticated: "+err.Error())
			w.Header().Set("WWW-Authenticate", `Bearer realm="riposte"`)
			problem.Respond(w, http.StatusUnauthorized, "Unauthorized", err.Error())
			return
		}
		noteAudit(r, p.String(), "")
		if !p.Has(scope) {
			noteAudit(r, p.String(), "missing scope "+scope)
			problem.Respond(w, http.StatusForbidden, "Forbidden",
				fmt.Sprintf("token %s (%s) has scopes [%s]; %s %s needs the %q scope", p.TokenID, p.Identity, strings.Join(p.Scopes, ","), r.Method, r.URL.Path, scope))
			return
		}
		h.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}

// actor returns the identity a human decision is recorded under: the
// authenticated principal's. A body user, when given, must be the same
// person (compared normalized); otherwise the request is refused with 403.
func (s *Server) actor(w http.ResponseWriter, r *http.Request, bodyUser string) (string, bool) {
	p := auth.FromContext(r.Context())
	if p == nil {
		problem.Respond(w, http.StatusUnauthorized, "Unauthorized", "no authenticated caller")
		return "", false
	}
	if strings.TrimSpace(p.Identity) == "" {
		noteAudit(r, p.String(), "refused: token bound to no identity")
		problem.Respond(w, http.StatusForbidden, "Token bound to no person",
			"the shared API token is bound to no identity, so it cannot decide: start riposte with RIPOSTE_USER=<your Slack user id> to bind it, or use a personal token (riposte tokens create --user U… --scope approve,operate)")
		return "", false
	}
	if strings.TrimSpace(bodyUser) != "" && !identity.Equal(bodyUser, p.Identity) {
		noteAudit(r, p.String(), "refused: body user "+strconv.Quote(clipID(bodyUser))+" is not the caller")
		problem.Respond(w, http.StatusForbidden, "User does not match the token",
			fmt.Sprintf("user %q is not the authenticated identity %q of token %s; decisions are recorded under the token's identity (omit user, or use that person's own token)", clipID(bodyUser), p.Identity, p.TokenID))
		return "", false
	}
	return p.Identity, true
}

// clipID shortens a caller-supplied id for messages and logs.
func clipID(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// respondTemporal answers a failed Temporal call: 400 when the frontend
// refused the request as invalid (a run id that is not a UUID, an over-long
// workflow id: the caller's mistake), else 502 (Temporal failed us).
func respondTemporal(w http.ResponseWriter, title string, err error) {
	var ia *serviceerror.InvalidArgument
	if errors.As(err, &ia) {
		problem.Respond(w, http.StatusBadRequest, title, ia.Error())
		return
	}
	problem.Respond(w, http.StatusBadGateway, title, err.Error())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// DetectionsResponse is the body of a successful POST /v1/detections.
type DetectionsResponse struct {
	Started      int                `json:"started"`
	Deduplicated int                `json:"deduplicated"`
	Detections   []dispatch.Outcome `json:"detections"`
}

func (s *Server) detections(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := answerInTime(r)
	defer cancel()
	if r.ContentLength > s.MaxBody {
		s.Metrics.DetectionRejected(telemetry.ReasonTooLarge)
		problem.Write(w, intake.DecodeProblem(&intake.DecodeError{Err: intake.ErrTooLarge, Index: -1, Offset: -1,
			Msg: fmt.Sprintf("body is %d bytes; the limit is %d", r.ContentLength, s.MaxBody)}))
		return
	}
	explainOnly, err := queryFlag(r.URL.Query(), "explain")
	if err != nil {
		s.Metrics.DetectionRejected(telemetry.ReasonMalformed)
		problem.Write(w, intake.DecodeProblem(&intake.DecodeError{Err: intake.ErrMalformed, Index: -1, Offset: -1, Msg: err.Error()}))
		return
	}
	compressed, ok := s.contentEncoding(w, r)
	if !ok {
		return
	}
	full, body, base, dryRun, err := envelope(r, s.MaxBody)
	if errors.Is(err, errBodyTimeout) {
		// Not malformed: the body did not arrive. Resending is right.
		s.Metrics.DetectionRejected(telemetry.ReasonTimeout)
		respondReadTimeout(w)
		return
	}
	if de := (*intake.DecodeError)(nil); compressed && errors.As(err, &de) {
		if errors.Is(err, intake.ErrTooLarge) {
			de.Msg = fmt.Sprintf("the gzip body is over the limit of %d bytes once decompressed", s.MaxBody)
		} else if de.Offset < 0 {
			de.Msg = "Content-Encoding: gzip, but the body is not valid gzip: " + strings.TrimPrefix(de.Msg, "reading body: ")
		}
	}
	if err != nil {
		s.Metrics.DetectionRejected(rejectReason(err))
		problem.Write(w, intake.DecodeProblem(err))
		return
	}
	partial, err := queryFlag(r.URL.Query(), "partial")
	if err != nil {
		s.Metrics.DetectionRejected(telemetry.ReasonMalformed)
		problem.Write(w, intake.DecodeProblem(&intake.DecodeError{Err: intake.ErrMalformed, Index: -1, Offset: -1, Msg: err.Error()}))
		return
	}
	partial = partial && !explainOnly
	// locate says where in the body a decode error is: one located in the
	// wrapper's detections array is moved by its offset there.
	locate := func(de *intake.DecodeError) {
		if base > 0 && de.Offset >= 0 {
			de.Offset += base
			de.Line, de.Column = lineCol(full, de.Offset)
		}
	}
	var dets []intake.Detection
	var undecoded map[int]*intake.DecodeError
	if partial {
		// A record that cannot be decoded is refused alone (an NDJSON
		// line, an object read to its end), like one failing the contract.
		dets, undecoded, err = intake.DecodePartial(bytes.NewReader(body), intake.DecodeOptions{MaxBytes: s.MaxBody})
	} else {
		dets, err = intake.Decode(bytes.NewReader(body), intake.DecodeOptions{MaxBytes: s.MaxBody})
	}
	if de := (*intake.DecodeError)(nil); errors.As(err, &de) {
		locate(de)
	}
	if err != nil {
		s.Metrics.DetectionRejected(rejectReason(err))
		problem.Write(w, intake.DecodeProblem(err))
		return
	}
	if len(undecoded) == len(dets) && len(dets) > 0 {
		// Nothing could be decoded: the problem it always was.
		first := slices.Min(slices.Collect(maps.Keys(undecoded)))
		locate(undecoded[first])
		s.Metrics.DetectionRejected(rejectReason(undecoded[first]))
		problem.Write(w, intake.DecodeProblem(undecoded[first]))
		return
	}
	formats, invalid, prob := convertDetections(r, dets, s.Validator, partial)
	if prob != nil {
		s.Metrics.DetectionRejected(telemetry.ReasonInvalid)
		problem.Write(w, *prob)
		return
	}
	for i, de := range undecoded {
		locate(de)
		if invalid == nil {
			invalid = map[int][]intake.FieldError{}
		}
		invalid[i] = intake.DecodeProblem(de).Errors
	}
	if explainOnly {
		s.explainDetections(w, dets, formats)
		return
	}
	requester, ok := s.requester(w, r)
	if !ok {
		return
	}
	// Over-long ids refuse their own detection only (400 per item); the
	// rest of the request is dispatched.
	refused := map[int]refusal{}
	var idErrs []intake.FieldError
	keep := make([]int, 0, len(dets))
	for i, d := range dets {
		if fe := invalid[i]; fe != nil {
			// ?partial=true: an invalid detection is refused alone.
			refused[i] = refusal{status: http.StatusBadRequest, problems: fe}
			idErrs = append(idErrs, fe...)
			continue
		}
		if fe := intake.IDErrors(i, d); fe != nil {
			refused[i] = refusal{status: http.StatusBadRequest, problems: fe}
			idErrs = append(idErrs, fe...)
			continue
		}
		keep = append(keep, i)
	}
	if len(keep) == 0 {
		s.Metrics.DetectionRejected(telemetry.ReasonInvalid)
		problem.Write(w, intake.ValidationProblem(idErrs))
		return
	}
	s.Metrics.DetectionReceived(len(keep))
	for range refused {
		s.Metrics.DetectionRejected(telemetry.ReasonInvalid)
	}
	resp := DetectionsResponse{Detections: make([]dispatch.Outcome, 0, len(dets))}
	outs, errs := s.dispatchAll(ctx, dets, keep, dispatch.Options{DryRun: dryRun, Requester: requester})
	// A detection Temporal refuses as invalid (its payload over the
	// server's blob size limit, ...) is refused alone: resending it can
	// never succeed, so it must not make the request a retryable 503.
	var temporalErrs []intake.FieldError
	for i, err := range errs {
		if rf, ok := temporalRefusal(i, err); ok {
			rf.matched = outs[i].Matched
			refused[i], errs[i] = rf, nil
			temporalErrs = append(temporalErrs, rf.problems...)
			s.Logger.Warn("detection refused by Temporal", "index", i, "detection_id", clipID(dets[i].UID()), "error", err)
			s.Metrics.DetectionRejected(rf.reason())
		}
	}
	if failed := failedIndexes(errs); len(failed) > 0 {
		// Runs already started stay started; a client resending the
		// whole body is safe because starts are deduplicated.
		first := failed[0]
		s.Logger.Error("dispatching detections", "failed", len(failed), "first_index", first, "error", errs[first])
		what := fmt.Sprintf("detection %d could not be dispatched (%v)", first, errs[first])
		if len(failed) > 1 {
			what = fmt.Sprintf("%d detections could not be dispatched (indexes %s; first: %v)", len(failed), joinInts(failed, 20), errs[first])
		}
		// Retry-After: Temporal unreachable or overloaded is usually a
		// matter of seconds (a frontend restart, a rate limit).
		// Every detection not taken is named with why (structured, not
		// only in the detail): those not dispatched, those Temporal
		// refused, those refused as invalid (?partial=true, over-long ids).
		notTaken := make([]intake.FieldError, 0, len(failed)+len(temporalErrs)+len(idErrs))
		notTaken = append(append(notTaken, idErrs...), temporalErrs...)
		for _, i := range failed {
			notTaken = append(notTaken, intake.FieldError{Index: i, Message: fmt.Sprintf("not dispatched (%v): resend it", errs[i])})
		}
		slices.SortStableFunc(notTaken, func(a, b intake.FieldError) int { return a.Index - b.Index })
		w.Header().Set("Retry-After", strconv.Itoa(temporalRetryAfter))
		problem.Write(w, problem.Problem{Type: "about:blank", Title: "Temporal unavailable", Status: http.StatusServiceUnavailable,
			Detail: fmt.Sprintf("%s; %d other detection(s) were dispatched; resending the request is safe", what, len(keep)-len(failed)-len(temporalErrs)),
			Errors: notTaken})
		return
	}
	if len(temporalErrs) == len(keep) {
		// Nothing of the request could be started: one problem naming all.
		p := intake.ValidationProblem(append(idErrs, temporalErrs...))
		p.Title = "Detection refused by Temporal"
		if !slices.ContainsFunc(keep, func(i int) bool { return refused[i].status != http.StatusRequestEntityTooLarge }) {
			p.Type, p.Status = intake.ProblemTypeTooLarge, http.StatusRequestEntityTooLarge
		}
		problem.Write(w, p)
		return
	}
	for i, out := range outs {
		if rf, ok := refused[i]; ok {
			if rf.matched == nil {
				rf.matched = []dispatch.Match{}
			}
			resp.Detections = append(resp.Detections, dispatch.Outcome{Index: i, DetectionID: clipID(dets[i].UID()), Matched: rf.matched,
				State: "refused", Status: rf.status, Problems: rf.problems,
				Reason: fmt.Sprintf("refused (%d): %s", rf.status, strings.TrimPrefix(rf.problems[0].Path+" "+rf.problems[0].Message, " "))})
			continue
		}
		for _, m := range out.Matched {
			if m.Deduplicated {
				resp.Deduplicated++
			} else {
				resp.Started++
			}
		}
		if out.Deduplicated {
			s.Metrics.DetectionDeduplicated()
		}
		if formats[i] != "" {
			out.Warnings = append([]intake.FieldError{conversionWarning(i, formats[i])}, out.Warnings...)
		}
		resp.Detections = append(resp.Detections, out)
	}
	status := http.StatusOK
	if resp.Started > 0 {
		status = http.StatusAccepted
	}
	writeJSON(w, status, resp)
}

// contentEncoding reads the request's Content-Encoding: none or identity
// leaves the body as it is; gzip (or x-gzip) replaces it by its
// decompressed bytes, which the body limit then counts (compressed reports
// this), so a small compressed body cannot inflate past it. Any other
// coding is answered 415 naming it, with Accept-Encoding (RFC 9110
// §15.5.16), rather than parsed as JSON.
func (s *Server) contentEncoding(w http.ResponseWriter, r *http.Request) (compressed, ok bool) {
	var codings []string
	for _, v := range r.Header.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.ToLower(strings.TrimSpace(c)); c != "" && c != "identity" {
				codings = append(codings, c)
			}
		}
	}
	switch {
	case len(codings) == 0:
		return false, true
	case len(codings) == 1 && (codings[0] == "gzip" || codings[0] == "x-gzip"):
		zr, err := gzip.NewReader(r.Body)
		if err != nil && readTimedOut(err) {
			s.Metrics.DetectionRejected(telemetry.ReasonMalformed)
			respondReadTimeout(w)
			return false, false
		}
		if err != nil {
			s.Metrics.DetectionRejected(telemetry.ReasonMalformed)
			problem.Write(w, intake.DecodeProblem(&intake.DecodeError{Err: intake.ErrMalformed, Index: -1, Offset: -1,
				Msg: "Content-Encoding: gzip, but the body is not valid gzip: " + err.Error()}))
			return false, false
		}
		r.Body = zr
		return true, true
	}
	s.Metrics.DetectionRejected(telemetry.ReasonMalformed)
	w.Header().Set("Accept-Encoding", "gzip")
	problem.Respond(w, http.StatusUnsupportedMediaType, "Unsupported Content-Encoding",
		fmt.Sprintf("Content-Encoding %q: the detection intake reads a body as sent (identity) or gzip-compressed", strings.Join(codings, ", ")))
	return false, false
}

// DefaultIntakeConcurrency bounds how many detections of one request are
// started at once.
const DefaultIntakeConcurrency = 32

// dispatchAll starts the detections dets[i] for i in idx concurrently (at
// most IntakeConcurrency at a time); outcomes and errors are indexed like
// dets (detections not in idx keep zero values). Records of one finding
// (same key) are dispatched one after the other in the order received, so
// a Close sent in the same batch as its Create reaches the run the Create
// started.
func (s *Server) dispatchAll(ctx context.Context, dets []intake.Detection, idx []int, opts dispatch.Options) ([]dispatch.Outcome, []error) {
	outs := make([]dispatch.Outcome, len(dets))
	errs := make([]error, len(dets))
	n := s.IntakeConcurrency
	if n <= 0 {
		n = DefaultIntakeConcurrency
	}
	// runGroup dispatches one finding's records in order. After one that
	// could not be dispatched (Temporal unavailable: resend), the later
	// ones are not dispatched either: applied without it they would break
	// the order (a Create after its failed Close would start the response
	// for the closed finding); they are answered as not dispatched, to be
	// resent with it. One Temporal refuses as invalid is refused alone.
	runGroup := func(group []int) {
		for n, i := range group {
			outs[i], errs[i] = s.Dispatcher.Dispatch(ctx, i, dets[i], opts)
			if _, refused := temporalRefusal(i, errs[i]); errs[i] == nil || refused {
				continue
			}
			for _, j := range group[n+1:] {
				errs[j] = fmt.Errorf("not dispatched: detection %d, an earlier record of the same finding, could not be; resend them in order", i)
			}
			return
		}
	}
	var groups [][]int
	byKey := map[string]int{}
	for _, i := range idx {
		k := dets[i].Key()
		g, ok := byKey[k]
		if !ok {
			g = len(groups)
			byKey[k] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	if len(groups) == 1 || n == 1 {
		for _, g := range groups {
			runGroup(g)
		}
		return outs, errs
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var panicked any
	var pmu sync.Mutex
	for _, group := range groups {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// A panic must reach the recoverer on the request goroutine.
			defer func() {
				if p := recover(); p != nil {
					pmu.Lock()
					panicked = p
					pmu.Unlock()
				}
			}()
			runGroup(group)
		}()
	}
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
	return outs, errs
}

// answerInTime bounds the dispatch of a detection request so that its
// answer is written within the HTTP server's WriteTimeout: a Temporal
// that does not answer (each start may wait the SDK's 10 s, and be
// retried) must end in a 503 naming what was not dispatched, not in a
// connection the server closes unanswered. Four fifths of the
// WriteTimeout, counted from now (the request's headers were just read),
// leave time to write the answer. No server or no WriteTimeout: the
// request's own context.
func answerInTime(r *http.Request) (context.Context, context.CancelFunc) {
	hs, ok := r.Context().Value(http.ServerContextKey).(*http.Server)
	if !ok || hs.WriteTimeout <= 0 {
		return context.WithCancel(r.Context())
	}
	return context.WithTimeout(r.Context(), hs.WriteTimeout*4/5)
}

// temporalRetryAfter is the Retry-After, in seconds, of a 503 for a
// Temporal that could not be reached or was overloaded.
const temporalRetryAfter = 5

// refusal is a detection of the request refused alone.
type refusal struct {
	status   int
	problems []intake.FieldError
	// matched are the runs started before Temporal refused the next one.
	matched []dispatch.Match
}

func (r refusal) reason() string {
	if r.status == http.StatusRequestEntityTooLarge {
		return telemetry.ReasonTooLarge
	}
	return telemetry.ReasonInvalid
}

// temporalRefusal is the refusal of detection idx when err is Temporal
// refusing its start or signal as invalid (InvalidArgument: a payload over
// the server's blob size limit, 2 MiB by default, or another value over a
// server limit): 413 for a size, else 400. Other errors (unreachable,
// overloaded, timed out) are not the detection's fault: false.
func temporalRefusal(idx int, err error) (refusal, bool) {
	var ia *serviceerror.InvalidArgument
	if err == nil || !errors.As(err, &ia) {
		return refusal{}, false
	}
	status, msg := http.StatusBadRequest, "Temporal refused it as invalid: "+err.Error()+" (this detection was refused; resending it cannot help; the others of the request were processed)"
	if strings.Contains(strings.ToLower(ia.Error()), "size exceeds limit") {
		status = http.StatusRequestEntityTooLarge
		msg = "is too large for Temporal once encoded: " + err.Error() + " (the server's blob size limit, 2 MiB by default, counts the detection as encoded; this detection was refused; resending it cannot help; the others of the request were processed)"
	}
	return refusal{status: status, problems: []intake.FieldError{{Index: idx, Message: msg}}}, true
}

func failedIndexes(errs []error) []int {
	var out []int
	for i, err := range errs {
		if err != nil {
			out = append(out, i)
		}
	}
	return out
}

// joinInts lists up to limit numbers.
func joinInts(v []int, limit int) string {
	parts := make([]string, 0, min(len(v), limit)+1)
	for i, n := range v {
		if i == limit {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, strconv.Itoa(n))
	}
	return strings.Join(parts, ", ")
}

// rejectReason is the metrics label of a body that could not be decoded.
func rejectReason(err error) string {
	if errors.Is(err, intake.ErrTooLarge) {
		return telemetry.ReasonTooLarge
	}
	return telemetry.ReasonMalformed
}

// errBodyTimeout: the body did not arrive within the server's ReadTimeout.
var errBodyTimeout = errors.New("request body not received in time")

// envelope reads the body and recognises the optional wrapper
// {"dry_run": true, "detections": [...]}; ?dry_run=true works for any body.
// A wrapper with unknown or repeated keys or a non-bool dry_run is refused
// rather than silently run live. It returns the whole body, the detections
// to decode and their byte offset in it (0 without a wrapper), so decode
// errors can be located in the body the client sent.
func envelope(r *http.Request, limit int64) (body, dets []byte, base int64, dryRun bool, err error) {
	body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil && readTimedOut(err) {
		return nil, nil, 0, false, errBodyTimeout
	}
	if err != nil {
		return nil, nil, 0, false, &intake.DecodeError{Err: intake.ErrMalformed, Index: -1, Offset: -1, Msg: "reading body: " + err.Error()}
	}
	if int64(len(body)) > limit {
		return nil, nil, 0, false, &intake.DecodeError{Err: intake.ErrTooLarge, Index: -1, Offset: -1, Msg: fmt.Sprintf("body is over the limit of %d bytes", limit)}
	}
	dryRun, err = queryFlag(r.URL.Query(), "dry_run")
	if err != nil {
		return nil, nil, 0, false, &intake.DecodeError{Err: intake.ErrMalformed, Index: -1, Offset: -1, Msg: err.Error()}
	}
	// A leading UTF-8 byte order mark is ignored, as intake.Decode does;
	// offsets stay those of the body as sent.
	obj := bytes.TrimPrefix(body, []byte("\ufeff"))
	bom := int64(len(body) - len(obj))
	trimmed := bytes.TrimSpace(obj)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return body, body, 0, dryRun, nil
	}
	keys, err := topLevelKeys(obj)
	if err != nil {
		return body, body, 0, dryRun, nil // not one JSON object: the intake says what is wrong
	}
	for _, v := range keys {
		v.keyAt, v.at, v.end = v.keyAt+bom, v.at+bom, v.end+bom
		if v.repeated >= 0 {
			v.repeated += bom
		}
	}
	if _, ok := keys["detections"]; !ok {
		return body, body, 0, dryRun, nil
	}
	if _, ok := keys["class_uid"]; ok {
		return body, body, 0, dryRun, nil // a detection that happens to have a "detections" field
	}
	for k, v := range keys {
		if k != "detections" && k != "dry_run" {
			return nil, nil, 0, false, wrapperError(body, v.keyAt, fmt.Sprintf("unknown key %q in the request wrapper; it takes only \"dry_run\" and \"detections\"", k))
		}
		if v.repeated >= 0 {
			return nil, nil, 0, false, wrapperError(body, v.repeated, fmt.Sprintf("key %q is repeated in the request wrapper", k))
		}
	}
	if v, ok := keys["dry_run"]; ok {
		var b bool
		if err := json.Unmarshal(body[v.at:v.end], &b); err != nil {
			return nil, nil, 0, false, wrapperError(body, v.at, "dry_run in the request wrapper must be true or false")
		}
		dryRun = dryRun || b
	}
	d := keys["detections"]
	if body[d.at] != '[' {
		return nil, nil, 0, false, wrapperError(body, d.at, "detections in the request wrapper must be an array of detections")
	}
	return body, body[d.at:d.end], d.at, dryRun, nil
}

// wrapperValue locates one key of the request wrapper in the body.
type wrapperValue struct {
	keyAt, at, end int64 // the key, and its value body[at:end]
	repeated       int64 // offset of a second occurrence of the key, or -1
}

// topLevelKeys lists the keys of the JSON object body with where each key
// and value are, noting repeated keys (json.Unmarshal into a map would keep
// the last one silently).
func topLevelKeys(body []byte) (map[string]*wrapperValue, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	keys := map[string]*wrapperValue{}
	for dec.More() {
		keyAt := dec.InputOffset()
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		end := dec.InputOffset()
		at := end - int64(len(raw))
		keyAt += int64(len(body[keyAt:]) - len(bytes.TrimLeft(body[keyAt:], " \t\r\n,")))
		if v, ok := keys[k]; ok {
			if v.repeated < 0 {
				v.repeated = keyAt
			}
			continue
		}
		keys[k] = &wrapperValue{keyAt: keyAt, at: at, end: end, repeated: -1}
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the object")
	}
	return keys, nil
}

// wrapperError is a decode error at byte off of the body.
func wrapperError(body []byte, off int64, msg string) error {
	e := &intake.DecodeError{Err: intake.ErrMalformed, Index: -1, Offset: off, Msg: msg}
	e.Line, e.Column = lineCol(body, off)
	return e
}

// lineCol is the 1-based line and byte column of off in body.
func lineCol(body []byte, off int64) (int, int) {
	if off > int64(len(body)) {
		off = int64(len(body))
	}
	before := body[:off]
	return 1 + bytes.Count(before, []byte("\n")), int(off) - bytes.LastIndexByte(before, '\n')
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if s.Reload == nil {
		problem.Respond(w, http.StatusNotImplemented, "Reload unavailable", "this server does not load playbooks")
		return
	}
	if err := s.Reload(); err != nil {
		problem.Respond(w, http.StatusUnprocessableEntity, "Playbooks invalid; kept the previous set", err.Error())
		return
	}
	s.playbooks(w, r)
}

// PlaybookInfo describes a loaded playbook.
type PlaybookInfo struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Mode    string `json:"mode"`
	File    string `json:"file"`
	Digest  string `json:"digest"`
	Steps   int    `json:"steps"`
}

func (s *Server) playbooks(w http.ResponseWriter, r *http.Request) {
	out := []PlaybookInfo{}
	if set := s.Dispatcher.Playbooks(); set != nil {
		for _, c := range set.Playbooks {
			mode := c.Playbook.Mode
			if mode == "" {
				mode = playbook.ModeLive
			}
			out = append(out, PlaybookInfo{Name: c.Playbook.Name, Version: c.Playbook.Version, Mode: mode, File: c.Playbook.File, Digest: c.Digest, Steps: len(c.Steps)})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"playbooks": out})
}

func timeoutCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 10*time.Second)
}

var errNotFound = errors.New("not found")

// DevSubmitter is the submitter recorded for detections posted with the
// shared (dev) token: not a person, so the person the dev token is bound to
// may still approve them (one person trying Riposte out), while every
// personal intake token records its own identity.
const DevSubmitter = "riposte-dev-token"

// requester is the submitter of a detection for four-eyes: the intake
// token's identity, or X-Riposte-Requester when the token may vouch for it.
func (s *Server) requester(w http.ResponseWriter, r *http.Request) (string, bool) {
	p := auth.FromContext(r.Context())
	who := ""
	if p != nil {
		who = p.Identity
		if p.Kind == auth.KindDev {
			who = DevSubmitter
		}
	}
	h := strings.TrimSpace(r.Header.Get("X-Riposte-Requester"))
	if h == "" {
		return who, true
	}
	if !p.Has(auth.ScopeVouch) {
		noteAudit(r, p.String(), "refused: X-Riposte-Requester without vouch scope")
		problem.Respond(w, http.StatusForbidden, "Cannot vouch for a requester",
			fmt.Sprintf("X-Riposte-Requester names who submitted, but token %s may not vouch for others (it needs the %q scope); the submitter is the token's identity %q: drop the header", p.TokenID, auth.ScopeVouch, p.Identity))
		return "", false
	}
	if len(h) > 256 || !identity.IsSlackUserID(h) {
		problem.Respond(w, http.StatusBadRequest, "Bad X-Riposte-Requester", "X-Riposte-Requester must be a Slack user id of at most 256 bytes")
		return "", false
	}
	return h, true
}
