package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/riposte-dev/riposte/internal/signing"
)

// ChangeSignedDecisions gates the seal check on the decide signal, so runs
// recorded before decisions were signed still replay.
const ChangeSignedDecisions = "sec-signed-decisions"

// ChangeSignedLifecycle gates the seal check on the rolled_back and finding
// signals, so runs recorded before they were signed still replay.
const ChangeSignedLifecycle = "sec-signed-lifecycle"

// ChangeSealsUsedOnce gates, on the decide signal, the refusal of a sealed
// vote this run already received (the seal of every signalled vote, even a
// refused one, stays in the history, where it can be read and sent again),
// so runs recorded before replay unchanged. The Update validators need no
// gate: they do not run on replay.
const ChangeSealsUsedOnce = "sec-seals-used-once"

// ChangeSealAfterRunStart gates, on the signals that carry a seal (decide,
// finding, rolled_back), the refusal of a seal made before the run
// started: a seal names the workflow id, not the run, and the intake
// reuses a finding's workflow id once the namespace's retention dropped
// the earlier run, so a sealed request copied from that run's history
// would otherwise count in the new one. Asked only when it refuses, so
// runs recorded before replay unchanged.
const ChangeSealAfterRunStart = "sec-seal-after-run-start"

// sealFromEarlierRun refuses, on a signal, a seal made more than
// signing.MaxAge (the clock skew tolerated) before the run started.
func (r *run) sealFromEarlierRun(ctx workflow.Context, s *signing.Seal) error {
	start := r.info.WorkflowStartTime
	if s == nil || start.IsZero() || !s.At.Before(start.Add(-signing.MaxAge)) {
		return nil
	}
	if workflow.GetVersion(ctx, ChangeSealAfterRunStart, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	return fmt.Errorf("%w: signed at %s, before this run started at %s: a copy from an earlier run of %s; send the request again through Riposte",
		signing.ErrStale, s.At.UTC().Format(time.RFC3339), start.UTC().Format(time.RFC3339), r.info.WorkflowExecution.ID)
}

// sealForThisRun refuses a request sealed for another run of this
// workflow id (runID, covered by its seal): the intake starts a reopened
// finding's new run under the id of the run that ended, so a vote, an
// extension or a rolled_back mark copied from that run's history could
// otherwise count here
// within the seal's freshness window. The run's own id, and after a reset
// the id of the run it was reset from (OriginalRunID) or the first of its
// chain, are this run. Requests sealed without a run id (before it existed,
// or while a worker of an earlier release polls) pass, as before; none is
// in a history recorded before, so this needs no version gate. A run that
// continues a withdrawn run (Input.ReopenedFrom, continue-as-new) keeps
// that run's FirstRunID, which Temporal preserves along continue-as-new:
// there it names an earlier run, not this one, and is not this run.
func (r *run) sealForThisRun(runID string) error {
	if runID == "" {
		return nil
	}
	ex := r.info.WorkflowExecution
	first := runID == r.info.FirstRunID && (r.input == nil || r.input.ReopenedFrom == "")
	if runID == ex.RunID || runID == r.info.OriginalRunID || first {
		return nil
	}
	return fmt.Errorf("%w: sealed for run %s of %s, not this run (%s): a copy from an earlier run; send the request again through Riposte",
		signing.ErrStale, runID, ex.ID, ex.RunID)
}

// ChangeRetiredKeyReceived is the prefix of the change ids under which a
// signal (vote, finding record, rolled_back mark) or a rollback's input
// sealed with a key the key file retired is refused when it reaches the
// run after the retirement, whatever date its seal bears (its holder
// writes that). One id per request (the prefix, "/", and the first 16 hex
// digits of the SHA-256 of the seal's MAC), asked only when it refuses: a
// request a run took before its worker knew of the retirement replays as
// it ran, and since the SDK keeps a replayed id's default version for the
// rest of the execution, one id per run would then let every later request
// with that key through.
const ChangeRetiredKeyReceived = "sec-retired-key-received"

// retiredKey refuses, on a signal received at now, a seal of a key retired
// by then (see ChangeRetiredKeyReceived).
func retiredKey(ctx workflow.Context, keys *signing.Keys, s *signing.Seal, now time.Time) error {
	err := keys.Retired(s, now)
	if err == nil {
		return nil
	}
	sum := sha256.Sum256([]byte(s.MAC))
	if workflow.GetVersion(ctx, ChangeRetiredKeyReceived+"/"+hex.EncodeToString(sum[:8]), workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	return err
}

// useSeal records that the run received the sealed request s (state only:
// no command). Runs never continue as new and each seal needs a request
// the API or the Slack app signed, so the set stays small.
func (r *run) useSeal(s *signing.Seal) {
	if s == nil || s.MAC == "" {
		return
	}
	if r.usedSeals == nil {
		r.usedSeals = map[string]bool{}
	}
	r.usedSeals[s.MAC] = true
}

// sealUsed says whether the run already received the sealed request s.
func (r *run) sealUsed(s *signing.Seal) bool {
	return s != nil && r.usedSeals[s.MAC]
}

// checkSealOnce refuses, in an Update validator, a (verified) seal that is
// not fresh at now or that this run already received: what is refused
// here is the replay of a request read back from the run's history.
func (r *run) checkSealOnce(s *signing.Seal, now time.Time, what string) error {
	if err := signing.Fresh(s, now); err != nil {
		return err
	}
	if r.sealUsed(s) {
		return fmt.Errorf("%w: %s was already received; send a new one through Riposte", signing.ErrReplayed, what)
	}
	return nil
}

// RolledBackClaim is what the seal of a rolled_back mark on run workflowID
// covers: who rolled it back, the rollback workflow (not its run: see
// RolledBack.RollbackRunID) and, when set, the run the mark is for.
func RolledBackClaim(workflowID string, rb RolledBack) signing.Claim {
	return signing.Claim{Kind: signing.KindRolledBack, Run: workflowID, Gate: rb.RollbackID, Decision: "rolled_back",
		Identity: rb.By, Channel: rb.Via, RunID: rb.RunID}
}

// FindingClaim is what the seal of a finding record sent to run workflowID
// covers: the submitter, the channel and a digest of the record (detection
// and view) as the workflow decodes it.
func FindingClaim(workflowID string, u FindingUpdate) signing.Claim {
	return signing.Claim{Kind: signing.KindFinding, Run: workflowID, Decision: FindingDigest(u), Identity: u.By, Channel: u.Via}
}

// FindingDigest is SHA-256 over the JSON of the record's detection and
// view. encoding/json sorts map keys, so it is deterministic; a signer
// computes it over the record after a JSON round trip (SealFinding), which
// is what the workflow receives.
func FindingDigest(u FindingUpdate) string {
	rec := struct {
		Detection map[string]any `json:"detection"`
		Finding   map[string]any `json:"finding"`
	}{u.Detection, u.Finding}
	b, err := json.Marshal(rec) //workflowcheck:ignore pure: encoding/json sorts map keys
	if err != nil {
		return "unencodable: " + err.Error()
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// SealFinding signs u (By and Via set) for run workflowID at time at, as
// the workflow will verify it: over the record as it decodes from JSON
// (numbers become float64). Signers only; never called by workflow code.
func SealFinding(keys *signing.Keys, workflowID string, u FindingUpdate, at time.Time) (FindingUpdate, error) {
	b, err := json.Marshal(u)
	if err != nil {
		return u, err
	}
	var rt FindingUpdate
	if err := json.Unmarshal(b, &rt); err != nil {
		return u, err
	}
	u.Seal = keys.Sign(FindingClaim(workflowID, rt), at)
	return u, nil
}

// DecisionClaim is what the seal of a vote on run workflowID covers. The
// signer (API, Slack app) and the workflow build it the same way.
func DecisionClaim(workflowID string, d Decision) signing.Claim {
	dec := "deny"
	if d.Approve {
		dec = "approve"
	}
	return signing.Claim{Kind: signing.KindDecide, Run: workflowID, Gate: d.GateID, Decision: dec, Identity: d.User,
		Channel: d.Via, Reason: d.Reason, MessageTS: d.MessageTS, Credential: d.Credential, RunID: d.RunID}
}

// ExtendClaim is what the seal of an extension covers.
func ExtendClaim(workflowID string, req ExtendRequest) signing.Claim {
	return signing.Claim{Kind: signing.KindExtend, Run: workflowID, Gate: req.Step, Decision: strconv.FormatInt(int64(req.By), 10),
		Identity: req.User, Channel: req.Via, Credential: req.Credential, RunID: req.RunID}
}

// SafeModeClaim is what the seal of a safe-mode switch covers.
func SafeModeClaim(req SafeModeRequest) signing.Claim {
	return signing.Claim{Kind: signing.KindSafeMode, Run: GuardWorkflowID, Decision: strconv.FormatBool(req.Enabled),
		Identity: req.By, Channel: req.Via, Credential: req.Credential}
}

// RollbackClaim is what the seal of a rollback covered before
// changeRollbackUndoSealed: the run undone, the person asking and whether
// the undos are simulated, but not the undo calls (RollbackUndoClaim
// does). A real rollback's claim is the one sealed before dry_run existed
// ("rollback"), so those seals still verify; a simulated one says
// "rollback dry_run", so its seal does not verify with dry_run cleared.
func RollbackClaim(in RollbackInput) signing.Claim {
	decision := "rollback"
	if in.DryRun {
		decision = "rollback dry_run"
	}
	return signing.Claim{Kind: signing.KindRollback, Run: in.WorkflowID, Gate: in.RunID, Decision: decision,
		Identity: in.Requester, Channel: in.Via, Credential: in.Credential}
}

// changeRollbackUndoSealed: a rollback's seal covers its undo calls
// (RollbackUndoClaim); before, a sealed input could be started again with
// other undo calls.
const changeRollbackUndoSealed = "sec-rollback-undo-sealed"

// RollbackUndoClaim is RollbackClaim plus a SHA-256 of the undo calls (as
// the workflow decodes them), so none can be changed or added after the
// signer planned them.
func RollbackUndoClaim(in RollbackInput) signing.Claim {
	c := RollbackClaim(in)
	c.Reason = "undo " + UndoDigest(in.Undo)
	return c
}

// UndoDigest is SHA-256 over the JSON of the undo calls (encoding/json
// sorts map keys: deterministic).
func UndoDigest(undo []UndoCall) string {
	b, err := json.Marshal(undo) //workflowcheck:ignore pure: encoding/json sorts map keys
	if err != nil {
		return "unencodable: " + err.Error()
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// SealRollback signs in at time at as the workflow verifies it: over the
// undo calls as they decode from JSON (numbers become float64). Signers
// only; never called by workflow code.
func SealRollback(keys *signing.Keys, in RollbackInput, at time.Time) (RollbackInput, error) {
	b, err := json.Marshal(in.Undo)
	if err != nil {
		return in, err
	}
	var rt []UndoCall
	if err := json.Unmarshal(b, &rt); err != nil {
		return in, err
	}
	rtIn := in
	rtIn.Undo = rt
	in.Seal = keys.Sign(RollbackUndoClaim(rtIn), at)
	return in, nil
}
