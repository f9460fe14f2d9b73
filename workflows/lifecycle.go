package workflows

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/identity"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/signing"
)

// Finding lifecycle: a later record of the same finding (same producer and
// uid) is delivered to the finding's running runs as SignalFinding.
//
//   - An update that raises severity or confidence replaces the run's
//     `finding` view (and `detection`) for every expression evaluated from
//     then on; QueryFinding and the result show it.
//   - A withdrawal (finding.state "withdrawn": Close, Resolved, Suppressed,
//     false positive) closes every gate still waiting as "withdrawn" (the
//     Slack message is updated), starts no further contain step, and lists
//     the contain steps that already ran in Result.Withdrawn.Review: they
//     stay in place, for a human to review (or roll back).
//
// Runs recorded before this existed never received the signal; the change is
// gated by workflow.GetVersion(ChangeFindingLifecycle) when the first record
// arrives, so their histories replay unchanged.
const (
	// SignalFinding delivers a FindingUpdate to a running run.
	SignalFinding = "finding"
	// QueryFinding returns the run's current finding view (LiveFinding).
	QueryFinding = "finding"
	// GateWithdrawn is the state of a gate closed because the finding was
	// withdrawn by its detector.
	GateWithdrawn = "withdrawn"
	// ViaWithdrawal marks a gate closed by a withdrawal.
	ViaWithdrawal = "withdrawal"
	// ChangeFindingLifecycle is this feature's workflow.GetVersion change id.
	ChangeFindingLifecycle = "detect-finding-lifecycle"
)

// FindingUpdate is a later record of a run's finding.
type FindingUpdate struct {
	Detection map[string]any `json:"detection"`
	Finding   map[string]any `json:"finding"`
	// By is who submitted the record (the intake token's identity), Via
	// the channel ("intake") and Seal the signature the intake put on it
	// (see FindingClaim): a withdrawal closes gates and may roll back, so
	// only Riposte's intake may send one.
	By   string        `json:"by,omitempty"`
	Via  string        `json:"via,omitempty"`
	Seal *signing.Seal `json:"seal,omitempty"`
}

// ViaIntake is the channel of finding records delivered by the intake.
const ViaIntake = "intake"

// Withdrawal records that the finding was withdrawn during the run.
type Withdrawal struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
	// Review lists the contain steps that had already run: left in place,
	// flagged for a human to review.
	Review []string `json:"review,omitempty"`
	// Gates lists the gates closed as withdrawn.
	Gates []string `json:"gates,omitempty"`
	// RolledBack lists the undo calls run because the playbook says
	// on_withdraw: rollback (then Review is empty).
	RolledBack []UndoResult `json:"rolled_back,omitempty"`
	// BeforeStart: the run was started with the withdrawn record (it
	// arrived before any record that would have started the run), so no
	// step ran (RevWithdrawnAtStart).
	BeforeStart bool `json:"before_start,omitempty"`
	// RecordTime is the withdrawing record's finding.RecordTime (ms since
	// the epoch; 0 when it had none or the run predates the field): an
	// active record of the finding that is later reopens it (the intake
	// starts a new run under the same workflow id).
	RecordTime int64 `json:"record_time,omitempty"`
}

// withdrawnAtStart reports whether the run was started with a withdrawn
// finding (from RevWithdrawnAtStart) and, if so, records the withdrawal
// and skips every step.
func (r *run) withdrawnAtStart(ctx workflow.Context, at time.Time) bool {
	if r.input.Rev < RevWithdrawnAtStart || str(r.finding["state"]) != finding.StateWithdrawn {
		return false
	}
	reason := str(r.finding["state_reason"])
	rt, _ := finding.RecordTime(r.detect)
	r.withdrawal, r.withdrawn = &Withdrawal{At: at, Reason: reason, BeforeStart: true, RecordTime: rt}, true
	why := "finding withdrawn (" + reason + ") before any record of it started this run: no step runs"
	for i := range r.results {
		r.finish(ctx, i, stepEnd{Status: playbook.StatusSkipped, Reason: why})
	}
	return true
}

// changeStaleWithdrawal: a withdrawing record older than an active record
// the run had (its input's, or an update's) is ignored: delivered late or
// again (queues deliver at least once, out of order), it describes a
// state the producer left before the record the run acts on (a Close the
// finding was reopened after). Asked only when it applies; runs recorded
// before withdrew on it.
const changeStaleWithdrawal = "stale-withdrawal"

// latestActive is the latest finding.RecordTime of the active records the
// run had: its input's and the updates' it was sent.
func (r *run) latestActive() (int64, bool) {
	latest := r.activeRecord
	if rt, ok := finding.RecordTime(r.input.Detection); ok && rt > latest {
		latest = rt
	}
	return latest, latest > 0
}

// afterWithdrawal says, for the history, why a record of the finding sent
// after its withdrawal is ignored. One that reopens the finding (active,
// and later than the withdrawing record) in a run recorded before
// changeReopenContinues says what the analyst must do: the response starts
// again only for a record sent once this run has ended; until then
// containment this run holds stays as planned. Only the summary of a
// marker: replay-safe.
func (r *run) afterWithdrawal(u FindingUpdate) string {
	rt, ok := r.reopening(u)
	w := r.withdrawal
	if !ok {
		return "finding record after the withdrawal: ignored"
	}
	why := fmt.Sprintf("finding reopened by the detector (record of %s, after the withdrawal of %s): ignored by this withdrawn run, which starts no step again",
		time.UnixMilli(rt).UTC().Format(time.RFC3339), time.UnixMilli(w.RecordTime).UTC().Format(time.RFC3339))
	if h := r.nextHold(); h != nil {
		why += fmt.Sprintf("; it holds containment until %s, released then as planned", h.Until.UTC().Format(time.RFC3339))
	}
	return why + ". Send the record again once this run has ended to start the response again, or contain by hand"
}

// LiveFinding is what QueryFinding returns.
type LiveFinding struct {
	Finding   map[string]any  `json:"finding"`
	Changes   []FindingChange `json:"changes,omitempty"`
	Withdrawn *Withdrawal     `json:"withdrawn,omitempty"`
}

// FindingChange is one update applied to the run's view.
type FindingChange struct {
	At         time.Time `json:"at"`
	Severity   string    `json:"severity"`
	Confidence any       `json:"confidence"`
	State      string    `json:"state"`
	// By is who submitted the record (the intake token's identity).
	By string `json:"by,omitempty"`
}

var severityRank = map[string]int{"Unknown": 0, "Other": 0, "Informational": 1, "Low": 2, "Medium": 3, "High": 4, "Critical": 5, "Fatal": 6}

func (r *run) registerLifecycle(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryFinding, func() (LiveFinding, error) {
		return LiveFinding{Finding: r.finding, Changes: r.changes, Withdrawn: r.withdrawal}, nil
	}); err != nil {
		return err
	}
	ch := workflow.GetSignalChannel(ctx, SignalFinding)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var u FindingUpdate
			if !ch.Receive(ctx, &u) {
				return
			}
			if workflow.GetVersion(ctx, ChangeFindingLifecycle, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
				continue
			}
			if workflow.GetVersion(ctx, ChangeSignedLifecycle, workflow.DefaultVersion, 1) >= 1 {
				err := r.in.Keys.Verify(FindingClaim(r.info.WorkflowExecution.ID, u), u.Seal)
				if err == nil {
					err = r.sealFromEarlierRun(ctx, u.Seal)
				}
				if err == nil {
					err = retiredKey(ctx, r.in.Keys, u.Seal, workflow.Now(ctx))
				}
				if err != nil {
					workflow.GetLogger(ctx).Warn("audit: finding signal refused", "by", u.By, "via", u.Via, "refusal", err.Error())
					continue
				}
			}
			note(ctx, r.applyFindingUpdate(ctx, u))
		}
	})
	return nil
}

// applyFindingUpdate applies a later record of the run's finding and
// returns the summary of what it did, for the history.
func (r *run) applyFindingUpdate(ctx workflow.Context, u FindingUpdate) string {
	if u.Finding == nil {
		return "finding record without a view: ignored"
	}
	if r.withdrawal != nil {
		if why, ok := r.reopen(ctx, u); ok {
			return why
		}
		if why, ok := r.closedAgain(ctx, u); ok {
			return why
		}
		return r.afterWithdrawal(u)
	}
	now := workflow.Now(ctx)
	state, _ := u.Finding["state"].(string)
	if state == "withdrawn" {
		reason, _ := u.Finding["state_reason"].(string)
		rt, timed := finding.RecordTime(u.Detection)
		if seen, ok := r.latestActive(); timed && ok && rt < seen &&
			workflow.GetVersion(ctx, changeStaleWithdrawal, workflow.DefaultVersion, 1) >= 1 {
			return staleWithdrawalSummary(reason, rt, seen)
		}
		w := &Withdrawal{At: now, Reason: reason, RecordTime: rt}
		r.withdrawal, r.withdrawn = w, true
		r.finding = u.Finding
		r.changes = append(r.changes, FindingChange{At: now, Severity: str(u.Finding["severity"]), Confidence: u.Finding["confidence"], State: state, By: u.By})
		steps := r.snapshot()
		w.Review = reviewSteps(steps, r.in.Catalog, r.undoRules(ctx, steps))
		for _, id := range r.gateOrder {
			g := r.gates[id]
			if g.State == GatePending {
				w.Gates = append(w.Gates, id)
				r.closeGate(ctx, g, GateWithdrawn, &Decision{GateID: id, User: "riposte", Via: ViaWithdrawal, Reason: "finding withdrawn: " + reason, At: now})
			}
		}
		// The UI's current details say so at once (no command: replay-safe).
		workflow.SetCurrentDetails(ctx, r.details(r.currentStatus()))
		if r.pb.Playbook.OnWithdraw == playbook.OnWithdrawRollback && len(w.Review) > 0 {
			// The run waits for this before it ends (awaitLifecycle).
			r.lifecycleBusy++
			r.rollbackOnWithdraw(ctx, w)
			r.lifecycleBusy--
			workflow.SetCurrentDetails(ctx, r.details(r.currentStatus()))
		}
		return withdrawnSummary(reason, len(w.Gates), len(w.Review), len(w.RolledBack))
	}
	if rt, ok := finding.RecordTime(u.Detection); ok && rt > r.activeRecord {
		r.activeRecord = rt
	}
	if !raises(r.finding, u.Finding) {
		return fmt.Sprintf("finding update from the detector (severity %s, confidence %s): not higher, view unchanged", severityName(u.Finding), confText(u.Finding["confidence"]))
	}
	view, detect := u.Finding, u.Detection
	if lowersSeverity(r.finding, u.Finding) &&
		workflow.GetVersion(ctx, changeNoLowerSeverity, workflow.DefaultVersion, 1) >= 1 {
		// A higher confidence does not bring the severity down (a lower
		// or unknown one): the view takes the record with the run's
		// severity, and the detection stays as it was. Runs recorded
		// before took the record whole.
		view = maps.Clone(u.Finding)
		view["severity"], view["severity_id"] = r.finding["severity"], r.finding["severity_id"]
		detect = nil
	}
	r.finding = view
	if detect != nil {
		r.detect = detect
	}
	r.changes = append(r.changes, FindingChange{At: now, Severity: str(view["severity"]), Confidence: view["confidence"], State: state, By: u.By})
	// The record may name other targets for the gates opened from now on:
	// its submitter may not approve them (four-eyes, as for the requester).
	if u.By != "" && !identity.Equal(u.By, r.input.Requester) && !containsFold(r.submitters, u.By) {
		r.submitters = append(r.submitters, u.By)
	}
	workflow.SetCurrentDetails(ctx, r.details(r.currentStatus()))
	return fmt.Sprintf("finding update from the detector: severity %s, confidence %s; the run's view is raised", severityName(view), confText(view["confidence"]))
}

// severityName is the view's severity when it is one of OCSF's names.
func severityName(f map[string]any) string {
	s := str(f["severity"])
	if _, ok := severityRank[s]; !ok {
		return "unknown"
	}
	return s
}

// confText renders a view confidence: a number or "unknown".
func confText(v any) string {
	if c, ok := finding.Number(v); ok {
		return fmt.Sprintf("%g", c)
	}
	return "unknown"
}

// findingDetails writes the run's current finding view for the Temporal
// UI's current details: severity, confidence, state, the first entities,
// and the detector's updates or withdrawal. Every value from the detection
// is shown as inline code (mdCode), never as markup.
func (r *run) findingDetails(b *strings.Builder) {
	f := r.finding
	if f == nil {
		return
	}
	conf := "unknown"
	if c, ok := finding.Number(f["confidence"]); ok {
		conf = fmt.Sprintf("%g%%", c)
	}
	// A blank line before the list: the Temporal UI's renderer starts
	// no list inside a paragraph (the items ran into its line).
	b.WriteString(fmt.Sprintf("Finding: severity %s, confidence %s, state %s\n\n", mdCode(str(f["severity"])), conf, mdCode(str(f["state"]))))
	ips, _ := f["ips"].(map[string]any)
	for _, e := range []struct {
		label string
		list  any
	}{{"hosts", f["hosts"]}, {"users", f["users"]}, {"IPs", ips["all"]}} {
		if line := entityLine(e.list); line != "" {
			b.WriteString(fmt.Sprintf("- %s: %s\n", e.label, line))
		}
	}
	if n := len(r.changes); n > 0 && r.withdrawal == nil {
		last := r.changes[n-1]
		lc := "unknown"
		if c, ok := finding.Number(last.Confidence); ok {
			lc = fmt.Sprintf("%g%%", c)
		}
		b.WriteString(fmt.Sprintf("- updated by the detector %d time(s), last at %s: severity %s, confidence %s\n", n, last.At.UTC().Format(time.RFC3339), mdCode(last.Severity), lc))
	}
	if w := r.withdrawal; w != nil {
		b.WriteString(fmt.Sprintf("- **withdrawn** by the detector at %s: %s\n", w.At.UTC().Format(time.RFC3339), mdCode(w.Reason)))
	}
	b.WriteString("\n")
}

// entityLine lists up to three entity values of a view list, and how many
// more there are.
func entityLine(list any) string {
	l, _ := list.([]any)
	var parts []string
	for i, e := range l {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(l)-3))
			break
		}
		m, _ := e.(map[string]any)
		parts = append(parts, mdCode(str(m["value"])))
	}
	return strings.Join(parts, ", ")
}

// mdCode renders detection text as a Markdown code span: backticks and
// control characters dropped, whitespace (a line break, a tab) shown as
// one space, at most 64 runes. The UI shows it verbatim.
func mdCode(s string) string {
	var b strings.Builder
	n := 0
	space := false
	for _, c := range s {
		switch {
		case unicode.IsSpace(c) || c == '\u2028' || c == '\u2029':
			space = true
			continue
		case c == '`' || unicode.IsControl(c) || unicode.Is(unicode.Cf, c):
			continue
		}
		if space && b.Len() > 0 && n < 64 {
			b.WriteByte(' ')
			n++
		}
		space = false
		if n == 64 {
			b.WriteString("…")
			break
		}
		b.WriteRune(c)
		n++
	}
	if b.Len() == 0 {
		return "–"
	}
	return "`" + b.String() + "`"
}

// awaitLifecycle lets a rollback started by a withdrawal finish before the
// run ends. It records nothing when none is running (old histories).
func (r *run) awaitLifecycle(ctx workflow.Context) {
	if r.lifecycleBusy > 0 {
		_ = workflow.Await(ctx, func() bool { return r.lifecycleBusy == 0 })
	}
}

// changeLateContainment: a contain call in flight when the finding was
// withdrawn, and applied after, is reviewed (or undone) too.
const changeLateContainment = "withdraw-late-containment"

// reviewLateContainment covers the containment applied after the
// withdrawal by a call already in flight (a retry, a slow vendor): the
// withdrawal's review lists it, or, with on_withdraw: rollback, it is
// undone like the rest. It records nothing when there is none.
func (r *run) reviewLateContainment(ctx workflow.Context) {
	if r.withdrawal == nil {
		return
	}
	if len(r.lateContainment(ctx)) == 0 || workflow.GetVersion(ctx, changeLateContainment, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	// A rollback the withdrawal started may still run: let it settle the
	// review first, so the two never undo or list the same step.
	_ = workflow.Await(ctx, func() bool { return r.lifecycleBusy == 0 })
	late := r.lateContainment(ctx)
	if len(late) == 0 {
		return
	}
	w := r.withdrawal
	w.Review = append(w.Review, late...)
	if r.pb.Playbook.OnWithdraw == playbook.OnWithdrawRollback {
		r.rollbackSteps(ctx, w, late)
	}
	workflow.SetCurrentDetails(ctx, r.details(r.currentStatus()))
}

// lateContainment lists the contain steps applied that the withdrawal
// neither reviewed nor undid.
func (r *run) lateContainment(ctx workflow.Context) []string {
	w := r.withdrawal
	covered := map[string]bool{}
	for _, id := range w.Review {
		covered[id] = true
	}
	for _, u := range w.RolledBack {
		covered[u.Step] = true
	}
	steps := r.snapshot()
	var late []string
	for _, id := range reviewSteps(steps, r.in.Catalog, r.undoRules(ctx, steps)) {
		if !covered[id] {
			late = append(late, id)
		}
	}
	return late
}

// rollbackOnWithdraw undoes the run's applied containment, newest first,
// like riposte rollback, and releases the holds it covered.
func (r *run) rollbackOnWithdraw(ctx workflow.Context, w *Withdrawal) {
	r.rollbackSteps(ctx, w, nil)
}

// rollbackSteps is rollbackOnWithdraw for the steps named in only (all
// when nil).
func (r *run) rollbackSteps(ctx workflow.Context, w *Withdrawal, only []string) {
	steps := r.snapshot()
	calls := undoCalls(steps, r.holdList(), r.in.Catalog, r.undoRules(ctx, steps))
	for _, u := range calls {
		if only != nil && !slices.Contains(only, u.Step) {
			continue
		}
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 2 * time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5, InitialInterval: 2 * time.Second},
			Summary:             fmt.Sprintf("undo %s (%s): finding withdrawn", u.Step, u.Undo),
		})
		call := catalog.Call{
			Action: u.Undo, Params: u.Params, WorkflowID: r.info.WorkflowExecution.ID, RunID: r.info.WorkflowExecution.RunID,
			StepID: u.Step + ".withdrawn", Index: u.Index, DryRun: r.input.Simulated(),
			IdempotencyKey: fmt.Sprintf("withdrawn:%s/%s/%d", r.info.WorkflowExecution.ID, u.Step, u.Index),
		}
		res := UndoResult{UndoCall: u, Status: "succeeded"}
		if err := workflow.ExecuteActivity(actx, u.Undo, call).Get(ctx, nil); err != nil {
			res.Status, res.Error = "failed", errorMessage(err)
		}
		w.RolledBack = append(w.RolledBack, res)
	}
	now := workflow.Now(ctx)
	var review []string
	for _, id := range w.Review {
		// Undone only when it had undo calls and all succeeded: a contain
		// step without an undo action stays for a human to review.
		ok, undone := true, false
		for _, res := range w.RolledBack {
			if res.Step == id {
				undone = true
				ok = ok && res.Status == "succeeded"
			}
		}
		if !ok || !undone {
			review = append(review, id)
			continue
		}
		if h := r.hold(id); h != nil && h.ReleasedAt == nil {
			h.ReleasedAt = &now
		}
		// What it applied is lifted, but a call of it whose result is
		// unknown (an item that timed out) may be in place: a human
		// still looks at it.
		if i := slices.IndexFunc(steps, func(st StepResult) bool { return st.ID == id }); i >= 0 && StepUncertain(steps[i]) &&
			workflow.GetVersion(ctx, changeWithdrawKeepsUncertain, workflow.DefaultVersion, 1) >= 1 {
			review = append(review, id)
		}
	}
	w.Review = review
}

// changeWithdrawKeepsUncertain: a step that on_withdraw: rollback undid
// stays in the review when one of its calls' result is unknown
// (StepUncertain). Asked only then.
const changeWithdrawKeepsUncertain = "withdraw-rollback-keeps-uncertain"

// changeNoLowerSeverity: a record with a higher confidence but a lower (or
// unknown) severity raises the view's confidence and keeps its severity.
const changeNoLowerSeverity = "finding-no-lower-severity"

// lowersSeverity reports whether next has a lower severity than cur; one
// that is not an OCSF name (unknown) ranks 0.
func lowersSeverity(cur, next map[string]any) bool {
	return severityRank[str(next["severity"])] < severityRank[str(cur["severity"])]
}

// raises reports whether next has a higher severity or confidence than cur.
func raises(cur, next map[string]any) bool {
	if severityRank[str(next["severity"])] > severityRank[str(cur["severity"])] {
		return true
	}
	nc, ok1 := finding.Number(next["confidence"])
	cc, ok2 := finding.Number(cur["confidence"])
	return ok1 && (!ok2 || nc > cc)
}

// containStopped says why a step must not start once the finding is
// withdrawn or the run rolled back (stopOnRollback): contain steps only;
// reading and notifying still run.
func (r *run) containStopped(cs *playbook.CStep) string {
	if cs.Action == nil || cs.Action.Risk != catalog.RiskContain {
		return ""
	}
	switch {
	case r.withdrawal != nil:
		return "finding withdrawn (" + r.withdrawal.Reason + "): no further containment"
	case r.rollbackWhy != "":
		return r.rollbackStop()
	}
	return ""
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
