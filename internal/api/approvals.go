package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/problem"
	"github.com/riposte-dev/riposte/workflows"
)

// DecisionRequest is the body of POST /v1/runs/{id}/approvals.
type DecisionRequest struct {
	// Step is the gated step's id (the gate id).
	Step string `json:"step"`
	// Decision is "approve" or "deny".
	Decision string `json:"decision"`
	// User, when given, must be the authenticated identity (403 else):
	// the decision is recorded under the token's identity.
	User   string `json:"user,omitempty"`
	Reason string `json:"reason,omitempty"`
	// RunID, when given, is the run whose gate the decision is for (the
	// run_id GET /v1/approvals lists it under): the decision is refused
	// (409) unless that run is the one running under the workflow id, so
	// it never counts in the run of a finding reopened since, or a
	// Temporal reset's run that carries the gate on (opened before its
	// reset point).
	RunID string `json:"run_id,omitempty"`
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	if s.Approvals == nil {
		problem.Respond(w, http.StatusNotImplemented, "Approvals unavailable", "this server has no approval service")
		return
	}
	var req DecisionRequest
	if status, err := readStrict(r, &req); err != nil {
		respondBody(w, status, "Malformed decision", "body must be {\"step\", \"decision\": \"approve\"|\"deny\", \"user\", \"reason\", \"run_id\"}: "+err.Error())
		return
	}
	var missing []string
	if strings.TrimSpace(req.Step) == "" {
		missing = append(missing, "step")
	}
	if req.Decision != "approve" && req.Decision != "deny" {
		missing = append(missing, `decision (must be "approve" or "deny")`)
	}
	if len(missing) > 0 {
		problem.Respond(w, http.StatusBadRequest, "Malformed decision", "missing or invalid: "+strings.Join(missing, ", "))
		return
	}
	user, ok := s.actor(w, r, req.User)
	if !ok {
		return
	}
	id := r.PathValue("id")
	d := workflows.Decision{GateID: req.Step, Approve: req.Decision == "approve", User: user, Reason: req.Reason, Via: workflows.ViaAPI,
		Credential: auth.FromContext(r.Context()).Credential(), RunID: strings.TrimSpace(req.RunID)}
	async := prefersAsync(r)
	var res workflows.DecisionResult
	var err error
	if async {
		err = s.Approvals.Send(r.Context(), id, d)
	} else {
		res, err = s.Approvals.Decide(r.Context(), id, d)
	}
	result := errString(err)
	if async && err == nil {
		result = "sent (respond-async): the run checks it"
	}
	s.Logger.Info("audit: approval decision", "workflow_id", id, "step", req.Step, "decision", req.Decision, "user", user,
		"principal", auth.FromContext(r.Context()).String(), "via", "api", "result", result, "remote", r.RemoteAddr)
	if err != nil && !errors.Is(err, approvals.ErrQueued) {
		noteAudit(r, "", "decision refused: "+err.Error())
	}
	if p := auth.FromContext(r.Context()); errors.Is(err, approvals.ErrRefused) && p.Kind == auth.KindDev && strings.Contains(err.Error(), "is not an approver") {
		err = fmt.Errorf("%w: the shared dev token is bound to %s (RIPOSTE_USER), and this gate names other approvers. "+
			"To decide as one of them, either restart riposte dev with the dev token bound to that approver "+
			"(RIPOSTE_USER=<their Slack user id> riposte dev; riposte approvals lists each gate's approvers), "+
			"or give them a personal token (riposte tokens create --user <their Slack user id> --scope approve) and decide with it",
			err, p.Identity)
	}
	switch {
	case err == nil && async:
		w.Header().Set("Preference-Applied", "respond-async")
		w.Header().Set("Location", "/v1/runs/"+url.PathEscape(id))
		writeJSON(w, http.StatusAccepted, map[string]any{"queued": true, "async": true, "workflow_id": id, "step": req.Step,
			"detail": "the decision is recorded on the run, which checks it against the gate's rules; GET /v1/runs/" + id + " shows the gate's state, and under refused why a vote was refused"})
	case err == nil:
		writeJSON(w, http.StatusOK, res)
	case errors.Is(err, approvals.ErrQueued):
		writeJSON(w, http.StatusAccepted, map[string]any{"queued": true, "detail": "no worker answered; the decision was queued and will be checked when a worker runs"})
	case errors.Is(err, approvals.ErrNotFound):
		problem.Respond(w, http.StatusNotFound, "Run not found", err.Error())
	case errors.Is(err, approvals.ErrRefused):
		problem.Respond(w, http.StatusConflict, "Decision refused", strings.TrimPrefix(err.Error(), approvals.ErrRefused.Error()+": "))
	default:
		respondTemporal(w, "Cannot deliver decision", err)
	}
}

// prefersAsync reports whether the caller asked not to wait for the run
// (RFC 7240 "Prefer: respond-async"): the decision is then sent as a
// signal and answered 202 once recorded, instead of 200 once the gate's
// rules have accepted it.
func prefersAsync(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			if tok, _, _ := strings.Cut(strings.TrimSpace(p), ";"); strings.EqualFold(strings.TrimSpace(tok), "respond-async") {
				return true
			}
		}
	}
	return false
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func (s *Server) listApprovals(w http.ResponseWriter, r *http.Request) {
	if s.Approvals == nil {
		problem.Respond(w, http.StatusNotImplemented, "Approvals unavailable", "this server has no approval service")
		return
	}
	ctx, cancel := timeoutCtx(r)
	defer cancel()
	const page = 200
	gates, more, err := s.Approvals.ListOpenPage(ctx, page)
	if err != nil {
		respondTemporal(w, "Cannot list approvals", err)
		return
	}
	body := map[string]any{"approvals": gates}
	if more {
		body["truncated"] = true
		body["detail"] = fmt.Sprintf("more than %d runs wait for approval; these are the gates of the first %d (ApprovalState in the Temporal UI lists every one)", page, page)
	}
	writeJSON(w, http.StatusOK, body)
}
