package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/approvals"
	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/internal/endedruns"
	"github.com/riposte-dev/riposte/internal/guardrails"
	"github.com/riposte-dev/riposte/internal/mdtext"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/problem"
	"github.com/riposte-dev/riposte/workflows"
)

// maxControlBody is the largest body a control or decision request takes.
const maxControlBody = 64 << 10

// decodeBody reads a small JSON body strictly into v, answering the
// problem itself when it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, shape string) bool {
	if status, err := readStrict(r, v); err != nil {
		respondBody(w, status, "Malformed request", fmt.Sprintf("body must be %s: %v", shape, err))
		return false
	}
	return true
}

// respondBody answers a body readStrict refused with status: 413 and 408
// have their own titles (and a 408 says to send it again), others title.
func respondBody(w http.ResponseWriter, status int, title, detail string) {
	switch status {
	case http.StatusRequestEntityTooLarge:
		title = "Request too large"
	case http.StatusRequestTimeout:
		respondReadTimeout(w)
		return
	}
	problem.Respond(w, status, title, detail)
}

// readTimedOut reports whether err is the server's read timeout passing
// while the body was read: the body did not arrive, it is not malformed.
func readTimedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// respondReadTimeout answers a body that did not arrive within the
// server's ReadTimeout: 408 (RFC 9110 §15.5.9), which clients and log
// shippers resend, where a 400 would tell them the request is wrong and
// have them drop it. The connection is closed, as the rest of the body may
// still come.
func respondReadTimeout(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	problem.Respond(w, http.StatusRequestTimeout, "Request timeout",
		"the request body did not arrive within the server's read timeout; nothing was done with it: send the request again")
}

// readStrict decodes exactly one JSON object of at most maxControlBody
// bytes into v, with no unknown fields and nothing after it; an empty body
// is {}. On failure it returns the status to answer (400 or 413).
func readStrict(r *http.Request, v any) (int, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxControlBody+1))
	if err != nil {
		if readTimedOut(err) {
			return http.StatusRequestTimeout, fmt.Errorf("reading body: %w", err)
		}
		return http.StatusBadRequest, fmt.Errorf("reading body: %w", err)
	}
	if len(body) > maxControlBody {
		return http.StatusRequestEntityTooLarge, fmt.Errorf("body is over the limit of %d bytes", maxControlBody)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := repeatedKey(body); err != nil {
		return http.StatusBadRequest, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return http.StatusBadRequest, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return http.StatusBadRequest, fmt.Errorf("data after the JSON object at byte %d", dec.InputOffset())
	}
	return 0, nil
}

// repeatedKey refuses a body object naming one field twice. encoding/json
// keeps the last of two equal keys and matches keys to fields without case
// (Unicode simple folding: "Enabled", "ENABLED", "\u017ftep" for "step"),
// so {"enabled": true, "enabled": false} would be read as off by Riposte
// and as on by whoever reads the first key. Keys are compared as
// encoding/json folds them. A body that is not one object is left to the
// decoder to refuse.
func repeatedKey(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	seen := map[string]string{}
	for dec.More() {
		off := dec.InputOffset()
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		k, _ := t.(string)
		folded := strings.Map(func(r rune) rune { return unicode.ToUpper(unicode.ToLower(r)) }, k)
		if first, ok := seen[folded]; ok {
			off += int64(len(body[off:]) - len(bytes.TrimLeft(body[off:], " \t\r\n,")))
			if first == k {
				return fmt.Errorf("key %q is repeated at byte %d (a field may be given once)", k, off)
			}
			return fmt.Errorf("key %q at byte %d is repeated as %q (keys are matched without case; a field may be given once)", first, off, k)
		}
		seen[folded] = k
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

// RollbackRequest is the body of POST /v1/runs/{id}/rollback.
type RollbackRequest struct {
	// User, when given, must be the authenticated identity.
	User string `json:"user,omitempty"`
	// RunID, when given, names the run to roll back: the latest run
	// (the default), or an earlier one that a reset of another run
	// terminated (RunDetail.TerminatedByReset): nothing releases its
	// holds, and the rollback of the workflow is the latest run's.
	RunID string `json:"run_id,omitempty"`
}

// RollbackResponse says which rollback workflow runs and what it undoes.
type RollbackResponse struct {
	WorkflowID string               `json:"workflow_id"`
	RunID      string               `json:"run_id"`
	URL        string               `json:"url,omitempty"`
	Existing   bool                 `json:"existing"`
	Undo       []workflows.UndoCall `json:"undo"`
	// InheritedHoldsLeft are the holds the run inherited from the
	// withdrawn run it continues (a finding its detector reopened), which
	// the rollback leaves in place until their release: their
	// containment is not lifted by it. Only while the run runs: once it
	// has ended without releasing them, or a release failed, nothing
	// would, and the rollback undoes them (in Undo, step inherited:STEP)
	// — save a hold that names no targets, listed here with NotReleased.
	InheritedHoldsLeft []InheritedHoldLeft `json:"inherited_holds_left,omitempty"`
}

// InheritedHoldLeft is a hold a run inherited from the withdrawn run it
// continues (workflows.Hold.InheritedFrom) and has not released: a
// rollback of the run leaves it in place, released at Until by the run
// (riposte extend moves it), or earlier by hand; or, with NotReleased,
// released by nothing (undo it by hand).
type InheritedHoldLeft struct {
	Step          string           `json:"step"`
	InheritedFrom string           `json:"inherited_from"`
	Undo          string           `json:"undo"`
	Targets       []map[string]any `json:"targets,omitempty"`
	Until         time.Time        `json:"until"`
	// NotReleased says why nothing releases it (the run has ended, or its
	// release failed) though the rollback does not undo it either: its
	// record names no targets (recorded before holds named them). Until
	// is then no release time. Empty for a hold left to its release.
	NotReleased string `json:"not_released,omitempty"`
	// CarriedBy, of a run a reset of another run terminated, is the run
	// a reset of the run the hold was inherited from started (that run's
	// reset_to): it took the hold on from that run's history, and
	// releases or rolls it back; this rollback leaves it.
	CarriedBy string `json:"carried_by,omitempty"`
}

// noTargetsByHand ends the NotReleased of an inherited hold that names no
// targets.
const noTargetsByHand = ", and its record names no targets (recorded by a worker of an earlier release), so the rollback cannot undo it: undo it by hand (the run's input lists the targets it inherited)"

// inheritedHoldsLeft lists the holds of run d that a rollback leaves in
// place: those it inherited and has not released, while it runs. Once it
// has ended (runEnded), or a release failed, the rollback undoes them
// (inheritedToUndo), save a hold that names no targets (recorded before
// holds named them), listed with why nothing releases it.
func inheritedHoldsLeft(d *RunDetail) []InheritedHoldLeft {
	ended := runEnded(d)
	var out []InheritedHoldLeft
	for _, h := range d.Holds {
		if h.InheritedFrom == "" {
			continue
		}
		l := InheritedHoldLeft{Step: h.Step, InheritedFrom: h.InheritedFrom, Undo: h.Undo, Targets: h.Targets, Until: h.Until}
		switch {
		case h.ReleasedAt == nil && !ended:
			// Left to its release.
		case len(h.Targets) > 0:
			continue // released, or undone by the rollback (inheritedToUndo)
		case h.ReleasedAt == nil:
			l.NotReleased = "the run has ended (" + cmp.Or(d.Temporal, "closed") + ") without releasing it" + noTargetsByHand
		case h.Error != "":
			l.NotReleased = "its release failed at " + h.ReleasedAt.UTC().Format(time.RFC3339) + " (" + oneLineErr(h.Error) + ")" + noTargetsByHand
		default:
			continue // released
		}
		out = append(out, l)
	}
	return out
}

// oneLineErr is err on one line, clipped for a message.
func oneLineErr(err string) string {
	err = strings.Join(strings.Fields(err), " ")
	if r := []rune(err); len(r) > 200 {
		err = string(r[:200]) + "…"
	}
	return err
}

// inheritedToUndo tells which holds of run d that it inherited nothing
// releases any more, which its rollback undoes: every one not released
// once it has ended (runEnded), and one whose release failed at any time
// (the run releases each hold once, as it does its own). The rollback
// numbers the calls across all of them (workflows.InheritedUndoCallsOf).
func inheritedToUndo(d *RunDetail) func(workflows.Hold) bool {
	ended := runEnded(d)
	return func(h workflows.Hold) bool {
		return h.InheritedFrom != "" && (ended || (h.ReleasedAt != nil && h.Error != ""))
	}
}

// inheritedPlannedSince is when a rollback of run d began to plan the
// inherited call u (nil: not known): when the release of its hold
// failed, else when the run ended (before, it was left to its release).
func inheritedPlannedSince(d *RunDetail, u workflows.UndoCall) *time.Time {
	for _, h := range d.Holds {
		if h.Step == u.Step && h.ReleasedAt != nil && h.Error != "" && slices.ContainsFunc(h.Targets, func(p map[string]any) bool { return reflect.DeepEqual(p, u.Params) }) {
			return h.ReleasedAt
		}
	}
	return d.ClosedAt
}

// runEnded reports whether run d has ended other than by continuing as a
// new run (which took its holds over): nothing of it releases a hold any
// more (cancelled, terminated, timed out, failed).
func runEnded(d *RunDetail) bool {
	return d.ClosedAt != nil && d.ContinuedAs == "" && d.Temporal != endedruns.StatusName(enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW)
}

// inheritedLeftNote says, for a refusal, what the run still holds that
// it inherited ("" when nothing): a 409 must not read as "nothing is
// contained".
func inheritedLeftNote(left []InheritedHoldLeft) string {
	var held, stuck, carried []string
	for _, h := range left {
		if h.CarriedBy != "" {
			carried = append(carried, fmt.Sprintf("%s (from run %s) is run %s's, the reset of run %s", h.Step, h.InheritedFrom, h.CarriedBy, h.InheritedFrom))
			continue
		}
		if h.NotReleased != "" {
			stuck = append(stuck, fmt.Sprintf("%s (from run %s): %s", h.Step, h.InheritedFrom, h.NotReleased))
			continue
		}
		t, _ := json.Marshal(h.Targets)
		held = append(held, fmt.Sprintf("%s on %s (from run %s) until %s", h.Step, t, h.InheritedFrom, h.Until.UTC().Format(time.RFC3339)))
	}
	note := ""
	if len(held) > 0 {
		note += "; the run still holds containment it inherited from the withdrawn run it continues, which a rollback leaves in place until its release (riposte extend moves it; undo it by hand to lift it now): " + strings.Join(held, "; ")
	}
	if len(stuck) > 0 {
		note += "; containment the run inherited from the withdrawn run it continues stays in place, released by nothing: " + strings.Join(stuck, "; ")
	}
	if len(carried) > 0 {
		note += "; containment the run inherited from the withdrawn run it continues was taken on by that run's reset, whose rollback undoes it: " + strings.Join(carried, "; ")
	}
	return note
}

// otherRunRollbackRunning is the refusal of d's rollback while rid's
// latest run (info) runs planned for another run of the finding: run of
// (its MemoRollbackOfRun; "" when it has none), the latest run when d is
// a run a reset of another run terminated (TerminatedByReset), or an
// earlier run's when it started before d (a reopened finding).
func otherRunRollbackRunning(rid string, info *workflowpb.WorkflowExecutionInfo, of string, d *RunDetail) string {
	earlier := info.GetStartTime().AsTime().Before(d.StartedAt)
	which := "another run"
	switch {
	case of != "" && of == d.TerminatedByReset:
		which = fmt.Sprintf("run %s (the latest run)", of)
	case of != "" && earlier:
		which = fmt.Sprintf("run %s (an earlier run)", of)
	case of != "":
		which = "run " + of
	case earlier:
		which = "an earlier run"
	}
	return fmt.Sprintf("%s (run %s) is still rolling back %s of this finding, not run %s; ask again once it has ended (riposte runs show %s says when) to roll back run %s", rid, info.GetExecution().GetRunId(), which, d.RunID, rid, d.RunID)
}

func (s *Server) rollback(w http.ResponseWriter, r *http.Request) {
	var req RollbackRequest
	if !decodeBody(w, r, &req, `{"user": "...", "run_id": "..."}`) {
		return
	}
	user, ok := s.actor(w, r, req.User)
	if !ok {
		return
	}
	req.User = user
	id := r.PathValue("id")
	ctx, cancel := timeoutCtx(r)
	defer cancel()
	d, err := s.Run(ctx, id, req.RunID)
	if errors.Is(err, errNotFound) {
		detail := fmt.Sprintf("no run with workflow id %q", id)
		if req.RunID != "" {
			detail = fmt.Sprintf("no run %q under workflow id %q (run_id; without it, the latest run)", req.RunID, id)
		}
		problem.Respond(w, http.StatusNotFound, "Run not found", detail)
		return
	}
	var ia *serviceerror.InvalidArgument
	if req.RunID != "" && errors.As(err, &ia) {
		problem.Respond(w, http.StatusBadRequest, "Malformed request", fmt.Sprintf("run_id %q is not a run id of Temporal's (a UUID, as riposte runs show prints it): %v", req.RunID, ia.Error()))
		return
	}
	if err != nil {
		respondTemporal(w, "Cannot read run", err)
		return
	}
	if s.Catalog == nil {
		problem.Respond(w, http.StatusInternalServerError, "Rollback unavailable", "the server has no action catalog")
		return
	}
	var carried []InheritedHoldLeft
	if req.RunID != "" {
		if refusal := s.earlierRunRefusal(ctx, id, d); refusal != "" {
			problem.Respond(w, http.StatusConflict, "Not this run's rollback", refusal)
			return
		}
		if d.TerminatedByReset != "" {
			if carried, err = s.carriedByReset(ctx, d); err != nil {
				respondTemporal(w, "Cannot read the runs the run inherited from", err)
				return
			}
		}
	}
	undo, refusal := rollbackPlan(d, s.Catalog)
	inherited := append(inheritedHoldsLeft(d), carried...)
	if refusal != "" {
		problem.Respond(w, http.StatusConflict, "Nothing to roll back", refusal+inheritedLeftNote(inherited))
		return
	}
	rid := "rollback:" + id
	// A rollback asked again is answered with the one that runs or
	// succeeded (the reuse policy starts one again only after a failure)
	// — but only for this run. A finding its detector reopened has a new
	// run under the same workflow id, and rollback:<id> may still hold the
	// earlier run's rollback (kept for the namespace's retention): that one
	// undid the earlier run's containment, not this run's, so this run's
	// rollback starts anew.
	reuse := enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
	// existing is this run's rollback that ended having undone all there
	// is, when it is not rollback:ID's latest run (own).
	var existing string
	if prev, err := s.Temporal.DescribeWorkflowExecution(ctx, rid, ""); err == nil {
		info := prev.GetWorkflowExecutionInfo()
		own := false
		if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && !info.GetStartTime().AsTime().Before(d.StartedAt) && s.rollbackOfAnotherRun(info, d.RunID) {
			// The latest rollback is another run's (the latest run's,
			// after a run a reset of another run terminated was rolled
			// back by run_id): this run's own, if any, ran before it, and
			// is what it has undone.
			o, err := approvals.OwnRollback(ctx, s.Temporal, s.dataConverter(), s.Namespace, id, d.RunID, d.StartedAt)
			if err != nil {
				respondTemporal(w, "Cannot read the run's earlier rollbacks", err)
				return
			}
			if o != nil {
				info, own = o, true
			}
		}
		started := info.GetStartTime().AsTime()
		running := info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		switch since := undoneSince(d, undo, started); {
		case info.GetStartTime() == nil:
		case started.Before(d.StartedAt) || s.rollbackOfAnotherRun(info, d.RunID):
			// Planned for another run of this id: an earlier run's, or one
			// planned for the withdrawn run this run continues and stopped
			// before it began (continuedBeforeMark).
			if running {
				problem.Respond(w, http.StatusConflict, "Rollback of another run in progress",
					otherRunRollbackRunning(rid, info, s.rollbackOfRun(info), d))
				return
			}
			reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
		case len(since) > 0 && running:
			// The run contained again after this rollback started (a gate
			// approved after it), or ended leaving a hold it inherited
			// (which that rollback, planned while it ran, leaves): not
			// part of it.
			what := fmt.Sprintf("which has contained again since it started (step %s)", since[0].Step)
			if strings.HasPrefix(since[0].Step, workflows.InheritedPrefix) {
				what = fmt.Sprintf("which has ended since it started without releasing the hold it inherited (%s), which that rollback leaves in place", since[0].Step)
				if d.ClosedAt == nil {
					what = fmt.Sprintf("whose release of the hold it inherited (%s) has failed since it started, which that rollback leaves in place", since[0].Step)
				}
			}
			problem.Respond(w, http.StatusConflict, "Rollback in progress",
				fmt.Sprintf("%s (run %s) is rolling back this run, %s; ask again once it has ended to undo that too", rid, info.GetExecution().GetRunId(), what))
			return
		case len(since) > 0 && info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			// The rollback that succeeded undid what came before it; what
			// the run contained since is undone by a new one.
			undo, reuse = since, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
		case info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_FAILED,
			info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED,
			info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
			info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
			// The rollback that failed (or was stopped) undid some calls
			// all the same. The run learns which only once it has read
			// that rollback's outcome (its holds' undone_targets), and a
			// step without contain_for has no hold to say so: plan from
			// the rollback's own record, or the retry lifts again what an
			// analyst may have put back since.
			left, err := s.leftByFailedRollback(ctx, d, undo, rid, info)
			if err != nil {
				// It undid some calls, which ones cannot be told: planning
				// them all again would lift what it undid.
				respondTemporal(w, "Cannot read the failed rollback", err)
				return
			}
			if undo = left; len(undo) == 0 {
				problem.Respond(w, http.StatusConflict, "Nothing to roll back",
					fmt.Sprintf("%s (run %s) ended %s, but it undid everything of this run that is still to undo; what it could not undo was released since", rid, info.GetExecution().GetRunId(), endedHow(info.GetStatus()))+inheritedLeftNote(inherited))
				return
			}
		}
		if own {
			if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED && reuse != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE {
				// It succeeded, and the run has contained nothing since.
				existing = info.GetExecution().GetRunId()
			}
			// rollback:ID's latest run is another run's: a new one of
			// this run's starts whatever that one's status.
			reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
		}
	}
	// A withdrawn run that still runs may continue as a new run (a record
	// reopening its finding) at any moment, handing over what it holds;
	// the rollback then must not undo it (continuedBeforeMark). It waits
	// rollbackMarkDelay before it begins, so that the API can stop it if
	// the run's mark is refused; and it begins only once the run took
	// its mark (MarkFirst), should this process die before the mark.
	var delay time.Duration
	if d.ClosedAt == nil && d.Withdrawn != nil {
		delay = rollbackMarkDelay
	}
	rin := workflows.RollbackInput{WorkflowID: id, RunID: d.RunID, Requester: req.User, Undo: undo, Via: workflows.ViaAPI,
		Credential: s.controlCredential(ctx, r), MarkFirst: delay > 0}
	rin, err = workflows.SealRollback(s.Keys, rin, time.Now())
	if err != nil {
		problem.Respond(w, http.StatusInternalServerError, "Cannot seal rollback", err.Error())
		return
	}
	asked := time.Now()
	var run client.WorkflowRun
	if existing != "" {
		err = &serviceerror.WorkflowExecutionAlreadyStarted{RunId: existing}
	} else {
		run, err = s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                                       rid,
			StartDelay:                               delay,
			TaskQueue:                                s.Dispatcher.TaskQueue,
			WorkflowIDReusePolicy:                    reuse,
			WorkflowExecutionErrorWhenAlreadyStarted: true,
			// Markdown in the Temporal UI; the id holds the detection's uid.
			StaticSummary: fmt.Sprintf("Rollback of %s requested by %s", mdtext.Text(id, 300), mdtext.Text(req.User, 100)),
			Memo:          map[string]any{MemoRequestedBy: req.User, "rollback_of": id, MemoRollbackOfRun: d.RunID},
			// Search attributes are not encrypted: the API reads who asked
			// from them (RolledBackBy/At on a rollback run: who and when).
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SARolledBackBy.ValueSet(req.User), workflows.SARolledBackAt.ValueSet(time.Now().UTC())),
		}, workflows.RollbackWorkflow, rin)
	}
	resp := RollbackResponse{WorkflowID: rid, Undo: undo, InheritedHoldsLeft: inherited}
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &already):
		// The rollback asked before for this run still runs or succeeded.
		// Its mark may never have reached the run (the process that
		// started it died, or the request timed out, before the mark):
		// it is sent again (a run takes a mark for a rollback run it
		// knows once only). When it began is not known here: asked is
		// left zero, so a stop says it may have begun.
		resp.RunID, resp.Existing = already.RunId, true
		asked = time.Time{}
	case err != nil:
		respondTemporal(w, "Cannot start rollback", err)
		return
	default:
		resp.RunID = run.GetRunID()
	}
	// A run still holding containment records the rollback, stops its
	// release timers and waits for the rollback's outcome (a failed one
	// leaves what it did not undo held again); a run that has ended cannot
	// change (its detail reads the rollback run instead).
	if d.ClosedAt == nil && resp.RunID != "" {
		mark := workflows.RolledBack{By: req.User, RollbackID: rid, RollbackRunID: resp.RunID, Via: workflows.ViaAPI}
		if s.SealsRolledBackRun != nil && s.SealsRolledBackRun(ctx) {
			mark.RunID = d.RunID // a copy cannot count in a later run of this id
		}
		mark.Seal = s.Keys.Sign(workflows.RolledBackClaim(id, mark), time.Now())
		if err := s.Temporal.SignalWorkflow(ctx, id, d.RunID, workflows.SignalRolledBack, mark); err != nil {
			if next, ok := s.continuedAs(ctx, id, d.RunID); ok {
				s.continuedBeforeMark(ctx, w, r, d, req.User, rid, resp.RunID, next, asked, delay)
				return
			}
			if delay > 0 {
				// The withdrawn run did not take the mark (or its answer
				// was lost): it does not know of the rollback and may
				// still continue as a new run, handing over what the
				// rollback would lift.
				s.markFailed(ctx, w, r, d, req.User, rid, resp.RunID, err, asked, delay)
				return
			}
			s.Logger.Warn("cannot mark the run rolled back", "workflow_id", id, "error", err)
		}
	}
	resp.URL = dispatch.RunURL(s.UIURL, s.Namespace, rid, resp.RunID)
	s.Logger.Info("audit: rollback", "workflow_id", id, "run_id", d.RunID, "user", req.User, "credential", auth.FromContext(r.Context()).Credential(), "undo", len(undo), "existing", resp.Existing)
	status := http.StatusAccepted
	if resp.Existing {
		status = http.StatusOK
	}
	writeJSON(w, status, resp)
}

// earlierRunRefusal says why the rollback cannot name run d of id (asked
// with run_id), "" when it can: the latest run, or one a reset of
// another run terminated (d.TerminatedByReset), whose holds nothing
// releases. Any other earlier run continued as a new run (which took its
// holds over) or ended before the latest run began: the rollback of the
// workflow is the latest run's.
func (s *Server) earlierRunRefusal(ctx context.Context, id string, d *RunDetail) string {
	if d.ClosedAt == nil || d.TerminatedByReset != "" {
		return "" // the running run is the latest
	}
	latest, err := s.Temporal.DescribeWorkflowExecution(ctx, id, "")
	if err == nil && latest.GetWorkflowExecutionInfo().GetExecution().GetRunId() == d.RunID {
		return ""
	}
	if d.ContinuedAs != "" {
		return fmt.Sprintf("run %s of %s continued as run %s (its finding was reopened), which took its holds over: riposte rollback %s rolls back the latest run", d.RunID, id, d.ContinuedAs, id)
	}
	return fmt.Sprintf("run %s of %s is not its latest run, and no reset of another run terminated it (run_id names the latest run, or one such a reset left holding): riposte rollback %s rolls back the latest run", d.RunID, id, id)
}

// carriedByReset takes out of run d's holds those it inherited from a run
// that was reset since (its reset_to: Describe's ResetRunId): the reset's
// run carries that run's holds on from its history (priorcall.go), and
// undoing them here would lift its containment behind its back. They are
// returned as left in place, with the run that carries them.
func (s *Server) carriedByReset(ctx context.Context, d *RunDetail) ([]InheritedHoldLeft, error) {
	resetTo := map[string]string{}
	var out []InheritedHoldLeft
	var kept []workflows.Hold
	for _, h := range d.Holds {
		if h.InheritedFrom == "" || h.ReleasedAt != nil {
			kept = append(kept, h)
			continue
		}
		to, ok := resetTo[h.InheritedFrom]
		if !ok {
			desc, err := s.Temporal.DescribeWorkflowExecution(ctx, d.WorkflowID, h.InheritedFrom)
			if err != nil {
				return nil, fmt.Errorf("reading run %s, which run %s inherited %s from: %w", h.InheritedFrom, d.RunID, h.Step, err)
			}
			to = desc.GetWorkflowExtendedInfo().GetResetRunId()
			resetTo[h.InheritedFrom] = to
		}
		if to == "" {
			kept = append(kept, h)
			continue
		}
		out = append(out, InheritedHoldLeft{Step: h.Step, InheritedFrom: h.InheritedFrom, Undo: h.Undo, Targets: h.Targets, Until: h.Until, CarriedBy: to})
	}
	d.Holds = kept
	return out, nil
}

// rollbackMarkDelay is how long the rollback of a withdrawn run that still
// runs waits before it begins (StartDelay): the time the API has to stop
// it when the run's rolled_back mark is refused because the run continued
// as a new run meanwhile (continuedBeforeMark). The mark is one request,
// sent as soon as the rollback is started.
const rollbackMarkDelay = 3 * time.Second

// continuedAs reports whether run runID of id continued as a new run (a
// withdrawn run whose finding was reopened), and that run ("" when its
// record cannot be read).
func (s *Server) continuedAs(ctx context.Context, id, runID string) (string, bool) {
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil || desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
		return "", false
	}
	next, _ := endedruns.ContinuedAs(ctx, s.Temporal, id, runID)
	return next, true
}

// stopTimeout bounds the termination of a rollback whose mark did not
// reach its run. It does not share the request's deadline: a request that
// timed out waiting for Temporal must still stop the rollback.
const stopTimeout = 10 * time.Second

// stopRollback terminates the rollback rid/rbRun, started delay after
// asked, and reports whether it was stopped before that delay ran out
// (before: nothing was undone). The delay is counted from before the
// start request, on this process's monotonic clock, and checked once
// Temporal has answered the termination: the server's start timer began
// after asked, so a termination answered sooner than asked+delay was
// applied before the rollback began.
func (s *Server) stopRollback(ctx context.Context, rid, rbRun, reason string, asked time.Time, delay time.Duration) (before bool, err error) {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	err = s.Temporal.TerminateWorkflow(tctx, rid, rbRun, reason)
	return err == nil && time.Since(asked) < delay, err
}

// stoppedNote says what the stopped rollback rid/rbRun undid.
func stoppedNote(rid, rbRun, runID string, before bool) string {
	if before {
		return fmt.Sprintf("nothing was undone (%s, run %s, planned for run %s, was stopped before it began)", rid, rbRun, runID)
	}
	return fmt.Sprintf("the rollback started for it (%s, run %s) was stopped, but may have begun undoing (its start delay had run out when Temporal stopped it): riposte runs show %s says what it undid", rid, rbRun, rid)
}

// notStopped answers a rollback that had to be stopped and could not be.
func (s *Server) notStopped(w http.ResponseWriter, why, rid, rbRun, id string, terr error) {
	problem.Respond(w, http.StatusInternalServerError, "Rollback could not be stopped",
		fmt.Sprintf("%s, and the rollback started for it (%s, run %s) could not be stopped (%v): it will undo containment the run does not know is lifted. Terminate it now (temporal workflow terminate --workflow-id %s --run-id %s), then ask again (riposte rollback %s)",
			why, rid, rbRun, terr, rid, rbRun, id))
}

// markFailed answers a rollback planned for run d, a withdrawn run that
// still runs, whose rolled_back mark Temporal refused for another reason
// than a handover (serr), or whose answer was lost. The run does not know
// of the rollback: it keeps its holds and may continue as a new run at any
// moment (a record reopening its finding), handing over what the rollback
// would lift. The rollback is stopped (a mark that did arrive all the same
// makes the run hold again what the stopped rollback did not undo), and
// the request refused with a 503: ask again.
func (s *Server) markFailed(ctx context.Context, w http.ResponseWriter, r *http.Request, d *RunDetail, user, rid, rbRun string, serr error, asked time.Time, delay time.Duration) {
	id := d.WorkflowID
	reason := fmt.Sprintf("planned for run %s, which could not be marked rolled back (%v): stopped, ask again", d.RunID, serr)
	before, terr := s.stopRollback(ctx, rid, rbRun, reason, asked, delay)
	why := fmt.Sprintf("run %s of %s (withdrawn, still running) could not be marked rolled back (%v), so it does not know of the rollback and may continue as a new run (a record reopening its finding), handing over what it holds", d.RunID, id, serr)
	if terr != nil {
		s.Logger.Error("audit: rollback not stopped", "workflow_id", id, "run_id", d.RunID, "user", user,
			"credential", auth.FromContext(r.Context()).Credential(), "rollback_run", rbRun, "mark_error", serr.Error(), "error", terr)
		s.notStopped(w, why, rid, rbRun, id, terr)
		return
	}
	s.Logger.Info("audit: rollback stopped", "workflow_id", id, "run_id", d.RunID, "user", user,
		"credential", auth.FromContext(r.Context()).Credential(), "rollback_run", rbRun, "mark_error", serr.Error(), "undone_before_stop", !before)
	problem.Respond(w, http.StatusServiceUnavailable, "Cannot mark the run rolled back",
		fmt.Sprintf("%s: %s. Ask again (riposte rollback %s)", why, stoppedNote(rid, rbRun, d.RunID, before), id))
}

// continuedBeforeMark answers a rollback planned for run d, a withdrawn
// run that continued as run next (a record reopened its finding) before
// the rollback's rolled_back mark reached it: Temporal refused the mark.
// Run next holds what d held (inherited, or taken over by its own steps),
// and does not know of the rollback: left to run, the rollback (rid/
// rbRun) would lift containment that run next shows held. It is
// terminated, and the request refused with a 409 saying to ask again,
// which plans for run next. asked and delay: when the rollback was asked
// to start, and its start delay (stopRollback).
func (s *Server) continuedBeforeMark(ctx context.Context, w http.ResponseWriter, r *http.Request, d *RunDetail, user, rid, rbRun, nextID string, asked time.Time, delay time.Duration) {
	id := d.WorkflowID
	next := "a new run"
	if nextID != "" {
		next = "run " + nextID
	}
	reason := fmt.Sprintf("planned for run %s, which continued as %s (its finding reopened) before the rollback reached it: refused, ask again", d.RunID, next)
	before, terr := s.stopRollback(ctx, rid, rbRun, reason, asked, delay)
	if terr != nil {
		s.Logger.Error("audit: rollback not stopped", "workflow_id", id, "run_id", d.RunID, "continued_as", nextID, "user", user,
			"credential", auth.FromContext(r.Context()).Credential(), "rollback_run", rbRun, "error", terr)
		s.notStopped(w, fmt.Sprintf("run %s of %s continued as %s (a record reopened its finding) before the rollback reached it, handing over what it held", d.RunID, id, next), rid, rbRun, id, terr)
		return
	}
	s.Logger.Info("audit: rollback refused", "workflow_id", id, "run_id", d.RunID, "continued_as", nextID, "user", user,
		"credential", auth.FromContext(r.Context()).Credential(), "rollback_run", rbRun, "undone_before_stop", !before)
	problem.Respond(w, http.StatusConflict, "Run continued as a new run",
		fmt.Sprintf("run %s of %s continued as %s (a record reopened its finding) before the rollback reached it, handing over what it held: %s. Ask again (riposte rollback %s): the rollback is then planned for %s, undoes its own containment and lists the holds it inherited, which it leaves in place until their release",
			d.RunID, id, next, stoppedNote(rid, rbRun, d.RunID, before), id, next))
}

// undoneSince returns the calls of undo whose step ended after a rollback
// of the same run started at t (or has not ended): containment that
// rollback did not know about. The call of an inherited hold counts
// when its release failed after t, or (a hold not released) when the run
// ended after t: that rollback was planned before, and left the hold to
// its release.
func undoneSince(d *RunDetail, undo []workflows.UndoCall, t time.Time) []workflows.UndoCall {
	ended := map[string]*time.Time{}
	for _, st := range d.Steps {
		ended[st.ID] = st.EndedAt
	}
	var out []workflows.UndoCall
	for _, u := range undo {
		if strings.HasPrefix(u.Step, workflows.InheritedPrefix) {
			if e := inheritedPlannedSince(d, u); e == nil || e.After(t) {
				out = append(out, u)
			}
			continue
		}
		if e := ended[u.Step]; e == nil || e.After(t) {
			out = append(out, u)
		}
	}
	return out
}

// leftByFailedRollback is what is left of undo (the plan from the run's
// state) after the rollback run described by info, which ended without
// succeeding: the calls it planned and did not undo, and those of steps
// that ended after it started. A call it undid is left out; so is a call
// it did not plan (an earlier rollback of the run undid it: each rollback
// plans from the one before). What it undid is read from its undo results
// (a rollback that failed with undo failures) or else from its history
// (refused, terminated, timed out, cancelled: its plan from its input, an
// undo call completed for each call it undid). An error when neither can
// be read: planning them all again would lift what it undid.
func (s *Server) leftByFailedRollback(ctx context.Context, d *RunDetail, undo []workflows.UndoCall, rid string, info *workflowpb.WorkflowExecutionInfo) ([]workflows.UndoCall, error) {
	var res []workflows.UndoResult
	run := info.GetExecution().GetRunId()
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_FAILED {
		err := s.Temporal.GetWorkflow(ctx, rid, run).Get(ctx, &res)
		var ae *temporal.ApplicationError
		switch {
		case errors.As(err, &ae) && ae.Type() == workflows.ErrRollbackFailed:
			if !ae.HasDetails() {
				return nil, fmt.Errorf("%s (run %s) failed with undo failures but recorded no undo results: what it undid cannot be told; undo what is left by hand", rid, run)
			}
			if derr := ae.Details(&res); derr != nil {
				return nil, fmt.Errorf("%s (run %s) failed with undo failures, and its undo results cannot be read (%v): what it undid cannot be told; undo what is left by hand", rid, run, derr)
			}
			return failedRollbackLeft(d, undo, res, info.GetStartTime().AsTime()), nil
		case err != nil && !errors.As(err, &ae):
			var wee *temporal.WorkflowExecutionError
			if !errors.As(err, &wee) {
				return nil, fmt.Errorf("reading the outcome of %s (run %s): %w", rid, run, err)
			}
		}
		// Refused, or another failure: its history says what it did.
	}
	res, err := s.undoneInHistory(ctx, rid, run)
	if err != nil {
		return nil, err
	}
	return failedRollbackLeft(d, undo, res, info.GetStartTime().AsTime()), nil
}

// undoneInHistory reads what rollback run rid/run did from its history:
// each undo call of its input, "succeeded" when its activity completed,
// else "failed" (not run, failed, or cut short: it may have acted, and
// undoing it again finds it undone).
func (s *Server) undoneInHistory(ctx context.Context, rid, run string) ([]workflows.UndoResult, error) {
	dc := s.dataConverter()
	var (
		in        workflows.RollbackInput
		read      bool
		scheduled = map[int64]catalog.Call{}
		completed []catalog.Call
	)
	it := s.Temporal.GetWorkflowHistory(ctx, rid, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("reading the history of %s (run %s): %w", rid, run, err)
		}
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			p := a.GetInput().GetPayloads()
			if len(p) == 0 {
				return nil, fmt.Errorf("%s (run %s) has no input", rid, run)
			}
			if err := dc.FromPayload(p[0], &in); err != nil {
				return nil, fmt.Errorf("%s (run %s): its input cannot be read (%v): what it undid cannot be told; undo what is left by hand", rid, run, err)
			}
			read = true
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			var c catalog.Call
			if p := a.GetInput().GetPayloads(); len(p) > 0 && dc.FromPayload(p[0], &c) == nil {
				scheduled[ev.GetEventId()] = c
			}
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil {
			if c, ok := scheduled[a.GetScheduledEventId()]; ok {
				completed = append(completed, c)
			}
		}
	}
	if !read {
		return nil, fmt.Errorf("%s (run %s): no start event in its history", rid, run)
	}
	res := make([]workflows.UndoResult, 0, len(in.Undo))
	for _, u := range in.Undo {
		r := workflows.UndoResult{UndoCall: u, Status: playbook.StatusFailed}
		if slices.ContainsFunc(completed, func(c catalog.Call) bool {
			return c.StepID == u.StepID() && c.Index == u.Index && c.Action == u.Undo
		}) {
			r.Status = playbook.StatusSucceeded
		}
		res = append(res, r)
	}
	return res, nil
}

// endedHow names how a workflow run ended, for a message.
func endedHow(st enumspb.WorkflowExecutionStatus) string {
	switch st {
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed out"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "cancelled"
	}
	return "failed"
}

// failedRollbackLeft keeps the calls of undo that res (a failed
// rollback's results, started at t) did not undo: its failed ones, and
// those of steps that ended after t.
func failedRollbackLeft(d *RunDetail, undo []workflows.UndoCall, res []workflows.UndoResult, t time.Time) []workflows.UndoCall {
	since := undoneSince(d, undo, t)
	var out []workflows.UndoCall
	for _, u := range undo {
		left := slices.ContainsFunc(res, func(r workflows.UndoResult) bool { return r.Same(u) && r.Status != playbook.StatusSucceeded })
		if left || slices.ContainsFunc(since, u.Same) {
			out = append(out, u)
		}
	}
	return out
}

// RefusalRollbackOfRollback is the 409's detail for a rollback asked of a
// rollback run.
const RefusalRollbackOfRollback = "a rollback run is not rolled back: that would apply the containment it undid again, without approval or guardrails; to contain again, submit the detection (a playbook run, with its gates) or act by hand"

// rollbackPlan lists what a rollback of run d undoes, newest first, or
// says why there is nothing to undo (the detail of a 409). A simulated run
// (dry run, shadow) contained nothing: undoing its steps would lift real
// containment that some other run or person applied.
func rollbackPlan(d *RunDetail, cat *catalog.Catalog) ([]workflows.UndoCall, string) {
	if d.Kind == KindRollback {
		// Its steps are undo calls, each a contain action whose own undo
		// is the original containment: "undoing" them would apply it again
		// with no gate, no approver and no guardrail.
		return nil, RefusalRollbackOfRollback
	}
	if d.Simulated || d.Mode == playbook.ModeDryRun || d.Mode == playbook.ModeShadow {
		return nil, "the run was simulated (dry_run/shadow); nothing was contained"
	}
	undo := withdrawalUndid(d, workflows.UndoCalls(d.Steps, workflows.HoldsForRollback(d.Holds), cat))
	// The holds it inherited that nothing releases any more are undone
	// like its own: all of them once it has ended, and one whose release
	// failed whenever (the run releases each hold once). While it runs,
	// the others are left to their release.
	undo = append(undo, workflows.InheritedUndoCallsOf(d.Steps, d.Holds, inheritedToUndo(d), cat)...)
	if len(undo) > 0 {
		return undo, ""
	}
	// Whatever else the 409 says, it names a contain step whose result is
	// unknown: not undone (no answer says whether the run applied it or
	// someone else had), it may be in place, and the refusal is where an
	// operator learns so.
	but := ""
	if note := uncertainNote(d, cat); note != "" {
		but = "; but " + note
	}
	if len(workflows.UndoCalls(d.Steps, nil, cat)) > 0 {
		return nil, "the run's containment was already released (contain_for elapsed, a later step undid it, or a rollback or withdrawal did)" + but
	}
	for _, st := range d.Steps {
		if workflows.Preexisting(st) {
			return nil, "the run's containment was already in place before it (someone else applied it): a rollback leaves it" + but
		}
	}
	for _, st := range d.Steps {
		applied := st.Status == playbook.StatusSucceeded
		for _, it := range st.Items {
			applied = applied || it.Status == playbook.StatusSucceeded
		}
		if a, ok := cat.Lookup(st.Action); ok && a.Undo != "" && applied {
			// UndoCalls left it out: a later step of the run undid it.
			return nil, "the run's containment was undone by a later step of the run itself" + but
		}
	}
	return nil, "the run has no succeeded contain step" + but
}

// uncertainNote names the first contain step of d whose call's result is
// unknown (workflows.StepUncertain) and says its containment may be in
// place; "" when there is none.
func uncertainNote(d *RunDetail, cat *catalog.Catalog) string {
	for _, st := range d.Steps {
		if containAction(cat, st.Action) && workflows.StepUncertain(st) {
			return fmt.Sprintf("step %s's call (%s) %s, so its containment may be in place: check the vendor's console and undo it there if it is (a rollback does not undo what the run cannot tell is its own)", st.ID, st.Action, uncertainWhy(st))
		}
	}
	return ""
}

func containAction(cat *catalog.Catalog, action string) bool {
	a, ok := cat.Lookup(action)
	return ok && a.Risk == catalog.RiskContain
}

// uncertainWhy says why a step's contain call (the first of its items
// whose result is unknown) may have acted.
func uncertainWhy(st workflows.StepResult) string {
	for _, it := range st.Items {
		if why := workflows.UncertainReason(it.Status, it.Error, nil); why != "" {
			return why
		}
	}
	return workflows.UncertainReason(st.Status, st.Error, st.Gate)
}

// withdrawalUndid leaves out of undo the calls the run's own withdrawal
// undid (on_withdraw: rollback, withdrawn.rolled_back succeeded): a step
// without contain_for has no hold to say so, and undoing it again would
// lift containment put back since (an analyst's, by hand).
func withdrawalUndid(d *RunDetail, undo []workflows.UndoCall) []workflows.UndoCall {
	if d.Withdrawn == nil || len(d.Withdrawn.RolledBack) == 0 {
		return undo
	}
	var out []workflows.UndoCall
	for _, u := range undo {
		if !slices.ContainsFunc(d.Withdrawn.RolledBack, func(r workflows.UndoResult) bool {
			return r.Status == playbook.StatusSucceeded && r.Same(u)
		}) {
			out = append(out, u)
		}
	}
	return out
}

// ExtendRequest is the body of POST /v1/runs/{id}/extend.
type ExtendRequest struct {
	Step string `json:"step"`
	By   string `json:"by"`
	User string `json:"user,omitempty"`
}

// extendBody is ExtendRequest as read: by raw, so that a bare number
// (0, 4) is refused saying what is wrong rather than with the decoder's
// "cannot unmarshal number into Go struct field".
type extendBody struct {
	Step string          `json:"step"`
	By   json.RawMessage `json:"by"`
	User string          `json:"user,omitempty"`
}

// extendBy reads by: a string (ParseExtension reads it), or null or absent
// (""; the caller says it is required). Another JSON value is an error
// saying what to write.
func extendBy(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var by string
	if err := json.Unmarshal(raw, &by); err == nil {
		return by, nil
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err == nil {
		if n == 0 {
			return "", fmt.Errorf("%s is zero: give a positive duration as a string, such as \"4h\" (at most %s)", raw, playbook.MaxContainFor)
		}
		return "", fmt.Errorf("%s is a number, not a duration: write it as a string with its unit, such as \"4h\" (at most %s)", raw, playbook.MaxContainFor)
	}
	return "", fmt.Errorf("must be a duration string such as \"4h\" (at most %s), not %s", playbook.MaxContainFor, raw)
}

func (s *Server) extend(w http.ResponseWriter, r *http.Request) {
	var body extendBody
	if !decodeBody(w, r, &body, `{"step", "by": "4h", "user"}`) {
		return
	}
	by, err := extendBy(body.By)
	if err != nil {
		problem.Respond(w, http.StatusBadRequest, "Malformed request", "by: "+err.Error())
		return
	}
	req := ExtendRequest{Step: body.Step, By: by, User: body.User}
	var missing []string
	// user is optional: the decision is the token's identity's.
	for _, f := range [][2]string{{"step", req.Step}, {"by", req.By}} {
		if strings.TrimSpace(f[1]) == "" {
			missing = append(missing, f[0])
		}
	}
	if len(missing) > 0 {
		problem.Respond(w, http.StatusBadRequest, "Malformed request", strings.Join(missing, ", ")+" required: the body is {\"step\": \"block\", \"by\": \"4h\"}")
		return
	}
	// At most playbook.MaxContainFor at a time: an extension is a human
	// re-confirming the containment for a while, not a hold for good.
	d, err := playbook.ParseExtension(req.By)
	if err != nil {
		problem.Respond(w, http.StatusBadRequest, "Malformed request", "by: "+err.Error())
		return
	}
	user, ok := s.actor(w, r, req.User)
	if !ok {
		return
	}
	req.User = user
	id := r.PathValue("id")
	ctx, cancel := timeoutCtx(r)
	defer cancel()
	ereq := workflows.ExtendRequest{Step: req.Step, By: d, User: req.User, Via: workflows.ViaAPI, Credential: s.controlCredential(ctx, r)}
	if s.SealsRun != nil && s.SealsRun(ctx) {
		// Sealed for the run that is running, and sent to it only.
		ereq.RunID, err = approvals.RunningRun(ctx, s.Temporal, id)
	}
	var hold workflows.Hold
	if err == nil {
		ereq.Seal = s.Keys.Sign(workflows.ExtendClaim(id, ereq), time.Now())
		var h client.WorkflowUpdateHandle
		h, err = s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: id, RunID: ereq.RunID, UpdateName: workflows.UpdateExtend, WaitForStage: client.WorkflowUpdateStageCompleted,
			Args: []any{ereq},
		})
		if err == nil {
			err = h.Get(ctx, &hold)
		}
	}
	s.Logger.Info("audit: extend containment", "workflow_id", id, "step", req.Step, "by", req.By, "user", req.User, "credential", auth.FromContext(r.Context()).Credential(), "result", errString(err))
	var nf *serviceerror.NotFound
	var ae *temporal.ApplicationError
	ended := errors.Is(err, approvals.ErrRefused) // RunningRun: the run has ended
	if !ended && errors.As(err, &nf) {
		// Temporal refuses an Update of an ended run as NotFound too:
		// tell it from an unknown run, as decisions do.
		if _, derr := s.Temporal.DescribeWorkflowExecution(ctx, id, ""); derr == nil {
			ended = true
		}
	}
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, hold)
	case ended:
		problem.Respond(w, http.StatusConflict, "Extension refused", fmt.Sprintf("the run %s has ended, so none of its holds can be extended (riposte runs show says what became of them); contain again if it is still needed", id))
	case errors.As(err, &nf) || errors.Is(err, approvals.ErrNotFound):
		problem.Respond(w, http.StatusNotFound, "Run not found", fmt.Sprintf("no run with workflow id %q", id))
	case errors.As(err, &ae):
		problem.Respond(w, http.StatusConflict, "Extension refused", ae.Message())
	default:
		respondTemporal(w, "Cannot extend", err)
	}
}

// SafeModeRequest is the body of POST /v1/policy/safe-mode.
type SafeModeRequest struct {
	Enabled bool   `json:"enabled"`
	User    string `json:"user,omitempty"`
}

// safeModeBody is SafeModeRequest as read: Enabled nil when absent.
type safeModeBody struct {
	Enabled *bool  `json:"enabled"`
	User    string `json:"user,omitempty"`
}

func (s *Server) safeMode(w http.ResponseWriter, r *http.Request) {
	// enabled is required: a body without it must not read as "off".
	var body safeModeBody
	if !decodeBody(w, r, &body, `{"enabled": true|false, "user"}`) {
		return
	}
	if body.Enabled == nil {
		problem.Respond(w, http.StatusBadRequest, "Malformed request", `body must be {"enabled": true|false, "user"}: "enabled" is missing`)
		return
	}
	req := SafeModeRequest{Enabled: *body.Enabled, User: body.User}
	user, ok := s.actor(w, r, req.User)
	if !ok {
		return
	}
	req.User = user
	ctx, cancel := timeoutCtx(r)
	defer cancel()
	sreq := workflows.SafeModeRequest{Enabled: req.Enabled, By: user, Via: workflows.ViaAPI, Credential: s.controlCredential(ctx, r)}
	sreq.Seal = s.Keys.Sign(workflows.SafeModeClaim(sreq), time.Now())
	st, err := guardrails.SetSafeMode(ctx, s.Temporal, s.Dispatcher.TaskQueue, sreq)
	s.Logger.Info("audit: safe mode", "enabled", req.Enabled, "user", req.User, "credential", auth.FromContext(r.Context()).Credential(), "result", errString(err))
	if err != nil {
		respondTemporal(w, "Cannot set safe mode", err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) policyState(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := timeoutCtx(r)
	defer cancel()
	st, err := guardrails.Status(ctx, s.Temporal)
	if err != nil {
		respondTemporal(w, "Cannot read guardrail state", err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// controlCredential is the credential that authenticated the request's
// sender, for an extension, safe-mode switch or rollback to record under
// its seal; "" while a worker that would refuse such a seal polls.
func (s *Server) controlCredential(ctx context.Context, r *http.Request) string {
	if s.SealsControlCredential == nil || !s.SealsControlCredential(ctx) {
		return ""
	}
	return auth.FromContext(r.Context()).Credential()
}
