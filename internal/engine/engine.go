// Package engine builds Riposte's Temporal worker: the playbook interpreter
// plus every action of the catalog, on one task queue.
package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/pbstore"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/workflows"
)

// DefaultStickyCacheSize is how many runs a worker process keeps in memory
// between their workflow tasks (the SDK's default is 10,000). Active runs
// fit easily; runs parked at a gate for hours beyond it are evicted and
// replayed from their (short) history when a decision arrives, which keeps
// memory flat with thousands of parked approvals (riposte bench, 10,000
// parked: 2,000 -> 1,000 with the server's cache 2,048 -> 1,024 took RSS
// from 698 to 476 MiB; most decisions replay their run either way).
const DefaultStickyCacheSize = 1000

// WorkerOptions configures NewWorker.
type WorkerOptions struct {
	TaskQueue string
	Env       *activities.Env
	// Guardrails checks contain steps against the site policy; nil means
	// no policy file (the live safe-mode switch and budgets still apply).
	Guardrails *activities.Guardrails
	// Slack posts approval requests; nil = decisions through API/CLI only.
	Slack *slackapp.Poster
	// Worker tunes pollers and concurrency; zero values are SDK defaults.
	Worker worker.Options
	// Keys verify the seals of human decisions (required): only processes
	// holding them can make a decision the workflow accepts.
	Keys *signing.Keys
	// Playbooks is the store runs started by reference load their playbook
	// from. With one, the worker says so in its identity (see
	// ByReferenceMarker), and starters may pass playbooks by reference.
	Playbooks *pbstore.Store
}

// ByReferenceMarker ended the identity of workers of releases before
// 2026-12-07 that load playbooks by reference from a store (still read;
// this release says it with CapsMarker's ":rev/"): starters pass
// playbooks by reference only when every worker polling the task queue
// carries it, so that a worker of an older release never receives a run
// it cannot read (rolling upgrades).
const ByReferenceMarker = "riposte:playbook-ref/1"

// RevMarker announced (releases before 2026-12-07; still read), followed
// by a number in a worker's identity, the
// newest command-sequence revision (workflows.Input.Rev) the worker runs;
// it comes right before ByReferenceMarker in the identity, so starters of
// the release before it still see that marker at the end. Workers that load playbooks by
// reference but carry no RevMarker run up to workflows.RevByReference.
const RevMarker = "riposte:rev/"

// CompressedMarker in a worker's identity says that it reads payloads
// compressed before encryption (codec.Options.Compress; releases since
// 2026-12-05). It comes before RevMarker, so the identity still ends as
// starters of earlier releases expect. riposte doctor checks every polling
// worker carries it before a deployment turns compression on.
const CompressedMarker = "riposte:codec/2"

// CredentialMarker in a worker's identity says that it verifies decision
// seals covering the credential that authenticated the decider
// (workflows.Decision.Credential; releases since 2026-12-06). Workers of
// earlier releases refuse such seals as forged, so the API and the Slack
// app record the credential only while every polling worker carries it
// (WorkersByReference.SealsCredential).
const CredentialMarker = "riposte:seal/credential"

// ControlCredentialMarker in a worker's identity says that it also
// verifies seals covering the credential of a hold extension, a safe-mode
// switch and a rollback (workflows.ExtendRequest.Credential and the like;
// releases since 2026-12-06, later than CredentialMarker's first). The
// API records those credentials only while every polling worker carries
// it (WorkersByReference.SealsControlCredential).
const ControlCredentialMarker = "riposte:seal/control-credential"

// RunSealMarker in a worker's identity says that it verifies seals of
// votes and extensions that cover the run they were sealed for
// (workflows.Decision.RunID, ExtendRequest.RunID; releases since
// 2026-12-06, later than ControlCredentialMarker's first), and refuses
// one sealed for another run of the same workflow id. The API and the
// Slack app seal the run only while every polling worker carries it
// (WorkersByReference.SealsRun); workers of earlier releases would refuse
// such a seal as forged.
const RunSealMarker = "riposte:seal/run"

// RolledBackRunMarker in a worker's identity says that it verifies seals
// of rolled_back marks that cover the run they were sealed for
// (workflows.RolledBack.RunID; releases since 2026-12-07, later than
// RunSealMarker's first) and refuses one sealed for another run of the
// same workflow id. The API seals the run into a mark only while every
// polling worker carries it (WorkersByReference.SealsRolledBackRun).
const RolledBackRunMarker = "riposte:seal/rolled-back-run"

// CapsMarker begins the word in which a worker of this release (since
// 2026-12-07) announces its capabilities: "riposte:caps/N" says it has
// the first N of Capabilities. It replaces five long words (about 100 B)
// because the server stores a worker's identity in every task event of
// every run: 5 per run of the reference playbook (BENCHMARKS.md). A
// worker that loads playbooks by reference still ends its identity with
// RevMarker and ByReferenceMarker, the words a `serve` of an earlier
// release reads, so such a serve starts runs by reference at the
// worker's revision (a Close before its Create is recorded); it reads no
// seal marker, so it seals decisions without credential or run, which
// every worker accepts, until it is upgraded too. Readers of this release
// also take the revision from "riposte:caps/N:rev/R" in place of those
// two words, so that a later release may drop them.
const CapsMarker = "riposte:caps/"

// Capabilities are the markers a worker can announce, in the order
// releases added them; CapsMarker's N counts from the first. A later
// release appends its own and announces the larger N.
var Capabilities = [...]string{CompressedMarker, CredentialMarker, ControlCredentialMarker, RunSealMarker, RolledBackRunMarker}

// WorkerIdentity is base followed by CapsMarker with all of Capabilities
// and, for a worker that loads playbooks by reference from a store,
// RevMarker with workflows.LatestRev and ByReferenceMarker (last, where
// starters of earlier releases look for them).
func WorkerIdentity(base string, byReference bool) string {
	id := fmt.Sprintf("%s %s%d", base, CapsMarker, len(Capabilities))
	if byReference {
		id += fmt.Sprintf(" %s%d %s", RevMarker, workflows.LatestRev, ByReferenceMarker)
	}
	return id
}

// announced reads the CapsMarker word of id (its last word, or the one
// before RevMarker and ByReferenceMarker when those end it): how many of
// Capabilities it announces, and the revision "N:rev/R" gives (0 when
// none). ok is false for an identity without one (a worker of an earlier
// release, read by its long words); a malformed count announces nothing.
func announced(id string) (caps, rev int, ok bool) {
	fields := strings.Fields(id)
	var word string
	switch n := len(fields); {
	case n >= 3 && fields[n-1] == ByReferenceMarker && strings.HasPrefix(fields[n-2], RevMarker):
		word = fields[n-3]
	case n >= 1:
		word = fields[n-1]
	}
	rest, found := strings.CutPrefix(word, CapsMarker)
	if !found {
		return 0, 0, false
	}
	n, r, byRef := strings.Cut(rest, ":rev/")
	caps, err := strconv.Atoi(n)
	if err != nil || caps < 0 || n != strconv.Itoa(caps) {
		return 0, 0, true
	}
	if byRef {
		if rev, err = strconv.Atoi(r); err != nil || rev < workflows.RevByReference || r != strconv.Itoa(rev) {
			return caps, 0, true
		}
	}
	return caps, rev, true
}

// pollerRev is the revision one poller's identity announces: from its
// CapsMarker word's ":rev/", else from RevMarker and ByReferenceMarker
// ending it (workflows.RevByReference without RevMarker), else 0.
func pollerRev(id string) int {
	if _, r, ok := announced(id); ok && r > 0 {
		return r
	}
	if !strings.HasSuffix(id, " "+ByReferenceMarker) {
		return 0
	}
	r := workflows.RevByReference
	fields := strings.Fields(id)
	if len(fields) >= 2 {
		if n, ok := strings.CutPrefix(fields[len(fields)-2], RevMarker); ok {
			if v, err := strconv.Atoi(n); err == nil && v > r {
				r = v
			}
		}
	}
	return r
}

// carries reports whether one poller's identity announces marker: as a
// whole word (the form of earlier releases) or within its CapsMarker.
func carries(id, marker string) bool {
	if caps, _, ok := announced(id); ok {
		i := slices.Index(Capabilities[:], marker)
		return i >= 0 && i < caps
	}
	return slices.Contains(strings.Fields(id), marker)
}

// NewWorker returns a worker (not yet started) that runs playbooks.
func NewWorker(c client.Client, opts WorkerOptions) (worker.Worker, error) {
	if opts.TaskQueue == "" {
		opts.TaskQueue = workflows.DefaultTaskQueue
	}
	if opts.Env == nil {
		opts.Env = activities.NewEnv(nil)
	}
	if opts.Guardrails == nil {
		g, err := activities.NewGuardrails(c, opts.TaskQueue, "", opts.Env.Logger)
		if err != nil {
			return nil, err
		}
		opts.Guardrails = g
	}
	if opts.Keys == nil {
		return nil, fmt.Errorf("engine: no decision signing key: set %s, or keep payload encryption on (the key is derived from the codec keys)", signing.EnvKeyFile)
	}
	wo := opts.Worker
	if wo.Identity == "" {
		host, _ := os.Hostname()
		wo.Identity = fmt.Sprintf("%d@%s@%s", os.Getpid(), host, opts.TaskQueue)
	}
	wo.Identity = WorkerIdentity(wo.Identity, opts.Playbooks != nil)
	// First, so every other interceptor sees the sealed error too.
	wo.Interceptors = append([]interceptor.WorkerInterceptor{&localFailures{}}, wo.Interceptors...)
	w := worker.New(c, opts.TaskQueue, wo)
	in := workflows.NewInterpreter(activities.Catalog())
	in.Keys = opts.Keys
	if opts.Playbooks != nil {
		in.Store = opts.Playbooks
	}
	workflows.Register(w, in)
	activities.RegisterWithGuardrails(w, opts.Env, opts.Guardrails)
	activities.RegisterApproval(w, opts.Slack)
	activities.RegisterGuardrails(w, opts.Guardrails)
	activities.RegisterRollbackOutcome(w, c)
	activities.RegisterRollbackMarked(w, c)
	return w, nil
}

// SearchAttributeTypeError is CheckSearchAttributes' error when the
// namespace holds one of Riposte's attributes with another type: no
// registration (worker, riposte setup) can repair that.
type SearchAttributeTypeError struct{ msg string }

func (e *SearchAttributeTypeError) Error() string { return e.msg }

// CheckSearchAttributes verifies Riposte's custom search attributes exist
// on the namespace; register adds the missing ones instead of failing. A
// run that upserts an unknown attribute would retry forever, so workers
// refuse to start without them.
func CheckSearchAttributes(ctx context.Context, c client.Client, namespace string, register bool) error {
	op := c.OperatorService()
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("listing search attributes of namespace %s: %w", namespace, err)
	}
	want := workflows.SearchAttributeTypes()
	missing := map[string]any{}
	var names []string
	for name, typ := range want {
		if got, ok := resp.GetCustomAttributes()[name]; ok {
			if got != typ {
				return &SearchAttributeTypeError{msg: fmt.Sprintf("search attribute %s has type %s in namespace %s; Riposte needs %s (a search attribute's type cannot change, and riposte setup cannot fix it: remove it with `temporal operator search-attribute remove --namespace %s --name %s` or use another namespace)",
					name, got, namespace, typ, namespace, name)}
			}
			continue
		}
		missing[name] = typ
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	if !register {
		return fmt.Errorf("namespace %s lacks Riposte's search attributes %s: register them (riposte worker --register-search-attributes, or the compose setup job)", namespace, strings.Join(names, ", "))
	}
	req := &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: want}
	for name := range want {
		if _, ok := missing[name]; !ok {
			delete(req.SearchAttributes, name)
		}
	}
	if _, err := op.AddSearchAttributes(ctx, req); err != nil {
		return fmt.Errorf("registering search attributes %s: %w", strings.Join(names, ", "), err)
	}
	return nil
}

// TaskQueueDescriber is the part of the client WorkersByReference needs.
type TaskQueueDescriber interface {
	DescribeTaskQueue(ctx context.Context, taskqueue string, taskqueueType enumspb.TaskQueueType) (*workflowservice.DescribeTaskQueueResponse, error)
}

// WorkersByReference answers, for a starter in another process than the
// workers (riposte serve), whether runs may pass their playbook by
// reference, and at which revision: by reference when every worker
// polling the task queue's workflow tasks carries ByReferenceMarker, at
// the lowest revision any of them announces (RevMarker). The answer is
// kept for a while (the server lists the pollers seen in the last minutes,
// so a worker of an older release keeps runs inline, or at its revision,
// until it has been gone for that long); "no worker polls" is not kept, so
// runs started before the first worker polls do not hold back the ones
// after it.
type WorkersByReference struct {
	Client    TaskQueueDescriber
	TaskQueue string
	// TTL is how long an answer is kept (0 = 2 s: a worker of an older
	// release that starts polling is noticed within it).
	TTL  time.Duration
	mu   sync.Mutex
	at   time.Time
	seen pollersSeen
	now  func() time.Time // time.Now; tests move it
}

func (w *WorkersByReference) clock() time.Time {
	if w.now != nil {
		return w.now()
	}
	return time.Now()
}

// RevUnknown is what Rev answers when it cannot tell which revision the
// workers run: no worker polls the task queue, or the server cannot be
// asked. Starters treat it as 0 (the playbook travels inline, which every
// release runs) but must not take it for workers of an older release:
// what only workers of a revision may be given (a run started withdrawn,
// workflows.RevWithdrawnAtStart) waits until one is known.
const RevUnknown = -1

// Rev is the revision every worker runs (see dispatch.Dispatcher.Rev):
// workflows.RevByReference or later when all load playbooks by reference,
// 0 otherwise (the playbook then travels inline), RevUnknown when no
// worker polls or the server cannot be asked.
func (w *WorkersByReference) Rev(ctx context.Context) int {
	seen, ok := w.describeOK(ctx)
	if !ok {
		return RevUnknown
	}
	return seen.rev
}

// SealsCredential reports whether every worker polling the task queue
// verifies seals that cover the decider's credential (CredentialMarker);
// false when none polls or the server cannot be asked. Cached with Rev.
func (w *WorkersByReference) SealsCredential(ctx context.Context) bool {
	return w.describe(ctx).cred
}

// SealsControlCredential reports whether every worker polling the task
// queue verifies seals of extensions, safe-mode switches and rollbacks
// that cover the sender's credential (ControlCredentialMarker); false
// when none polls or the server cannot be asked. Cached with Rev.
func (w *WorkersByReference) SealsControlCredential(ctx context.Context) bool {
	return w.describe(ctx).ctrl
}

// SealsRun reports whether every worker polling the task queue verifies
// seals of votes and extensions that cover their run (RunSealMarker);
// false when none polls or the server cannot be asked. Cached with Rev.
func (w *WorkersByReference) SealsRun(ctx context.Context) bool {
	return w.describe(ctx).run
}

// SealsRolledBackRun reports whether every worker polling the task queue
// verifies seals of rolled_back marks that cover their run
// (RolledBackRunMarker); false when none polls or the server cannot be
// asked. Cached with Rev.
func (w *WorkersByReference) SealsRolledBackRun(ctx context.Context) bool {
	return w.describe(ctx).mark
}

// describe asks the server who polls the task queue, or answers from the
// cache; 0 and false, uncached, when it cannot be asked or none polls.
func (w *WorkersByReference) describe(ctx context.Context) pollersSeen {
	seen, _ := w.describeOK(ctx)
	return seen
}

// describeOK is describe, and whether some worker was seen polling.
func (w *WorkersByReference) describeOK(ctx context.Context) (pollersSeen, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ttl := w.TTL
	if ttl <= 0 {
		ttl = 2 * time.Second
	}
	if !w.at.IsZero() && w.clock().Sub(w.at) < ttl {
		return w.seen, true
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := w.Client.DescribeTaskQueue(ctx, w.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return pollersSeen{}, false // not cached: ask again next time
	}
	if len(resp.GetPollers()) == 0 {
		// Not cached either: the first worker to poll (the usual order at
		// a start, serve before its workers) is seen by the next run.
		return pollersSeen{}, false
	}
	p := resp.GetPollers()
	w.at, w.seen = w.clock(), pollersSeen{rev: PollersRev(p), cred: PollersSealCredential(p), ctrl: PollersCarry(p, ControlCredentialMarker),
		run: PollersCarry(p, RunSealMarker), mark: PollersCarry(p, RolledBackRunMarker)}
	return w.seen, true
}

// pollersSeen is what WorkersByReference learnt of the pollers: the
// revision they all run and whether they all verify credential seals, of
// votes (cred) and of extensions, safe-mode switches and rollbacks (ctrl),
// and whether they all verify seals that name the run, of votes and
// extensions (run) and of rolled_back marks (mark).
type pollersSeen struct {
	rev                   int
	cred, ctrl, run, mark bool
}

// WorkersLine says, for riposte doctor, how many workers poll the task
// queue and how runs will be started for them (PollersRev), and which
// seals a worker of an earlier release holds back (CredentialMarker,
// ControlCredentialMarker: serve records no credential while one polls
// without them; RunSealMarker: nor the run); ok is false when none polls.
func WorkersLine(taskQueue string, pollers []*taskqueuepb.PollerInfo) (line string, ok bool) {
	n := len(pollers)
	var lacking []string
	if !PollersCarry(pollers, CredentialMarker) {
		lacking = append(lacking, CredentialMarker+" (votes)")
	}
	if !PollersCarry(pollers, ControlCredentialMarker) {
		lacking = append(lacking, ControlCredentialMarker+" (extensions, safe-mode switches, rollbacks)")
	}
	seals := ""
	if len(lacking) > 0 {
		seals = "; at least one lacks " + strings.Join(lacking, " and ") + ": those are sealed and recorded without the credential that authenticated them until every worker announces it"
	}
	if !PollersCarry(pollers, RunSealMarker) {
		seals += "; at least one lacks " + RunSealMarker + ": votes and extensions are sealed without their run (a copy could count in a later run of the same workflow id within " + signing.MaxAge.String() + ") until every worker announces it"
	}
	if !PollersCarry(pollers, RolledBackRunMarker) {
		seals += "; at least one lacks " + RolledBackRunMarker + ": rollbacks mark their run with a seal that does not name it (a copy could count in a later run of the same workflow id within " + signing.MaxAge.String() + ") until every worker announces it"
	}
	switch rev := PollersRev(pollers); {
	case n == 0:
		return fmt.Sprintf("none has polled task queue %q in the last minutes: runs wait until a riposte worker starts", taskQueue), false
	case rev == 0:
		return fmt.Sprintf("%d polling %q, at least one of a release that cannot load playbooks by reference: runs carry their playbook inline%s", n, taskQueue, seals), true
	case rev < workflows.LatestRev:
		return fmt.Sprintf("%d polling %q, at least one of an earlier release: runs go by reference at revision %d until every worker runs %d%s", n, taskQueue, rev, workflows.LatestRev, seals), true
	case seals != "":
		return fmt.Sprintf("%d polling %q, at least one of an earlier release: runs go by reference at revision %d%s", n, taskQueue, rev, seals), true
	default:
		return fmt.Sprintf("%d polling %q, all of this release: runs go by reference at revision %d", n, taskQueue, rev), true
	}
}

// PollersReadCompressed reports whether there are pollers and every one
// announces CompressedMarker.
func PollersReadCompressed(pollers []*taskqueuepb.PollerInfo) bool {
	return PollersCarry(pollers, CompressedMarker)
}

// PollersSealCredential reports whether there are pollers and every one
// announces CredentialMarker.
func PollersSealCredential(pollers []*taskqueuepb.PollerInfo) bool {
	return PollersCarry(pollers, CredentialMarker)
}

// PollersCarry reports whether there are pollers and every one announces
// marker (within its CapsMarker word, or as a whole word of its identity
// for a worker of an earlier release).
func PollersCarry(pollers []*taskqueuepb.PollerInfo, marker string) bool {
	for _, p := range pollers {
		if !carries(p.GetIdentity(), marker) {
			return false
		}
	}
	return len(pollers) > 0
}

// PollersRev is the lowest revision the pollers announce (pollerRev): 0
// when there is none or one does not load playbooks by reference, and
// never more than this release's workflows.LatestRev.
func PollersRev(pollers []*taskqueuepb.PollerInfo) int {
	if len(pollers) == 0 {
		return 0
	}
	rev := workflows.LatestRev
	for _, p := range pollers {
		r := pollerRev(p.GetIdentity())
		if r == 0 {
			return 0
		}
		rev = min(rev, r)
	}
	return rev
}

// localFailures keeps vendor and detection text out of local activity
// markers: the SDK records a local activity's failure message in clear
// (the codec's failure encoding does not reach it), so an action's error
// becomes one whose message is its type only, with the message in the
// (encrypted) details as workflows.LocalFailure.
type localFailures struct {
	interceptor.WorkerInterceptorBase
}

func (*localFailures) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &localFailuresInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type localFailuresInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (l *localFailuresInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := l.Next.ExecuteActivity(ctx, in)
	if err == nil || !activity.GetInfo(ctx).IsLocalActivity {
		return res, err
	}
	return res, SealLocalFailure(err)
}

// SealLocalFailure turns a local activity's error into one whose message
// names only its type (and whether it is retried), the message going to
// the details.
func SealLocalFailure(err error) error {
	// A timeout stays a timeout (the step reads timed_out, and it is
	// retried as one); its cause is sealed.
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		var cause error
		if c := te.Unwrap(); c != nil {
			cause = SealLocalFailure(c)
		}
		return temporal.NewTimeoutError(te.TimeoutType(), cause)
	}
	typ, nonRetryable, msg := "ActionError", false, err.Error()
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		if ae.Type() != "" {
			typ = ae.Type()
		}
		nonRetryable, msg = ae.NonRetryable(), ae.Message()
	}
	details := []any{workflows.LocalFailure{Message: msg}}
	if ud, ok := unavailableDetail(ae); ok {
		// Who decides the gate the run opens on it (workflows.NewUnavailable).
		details = append(details, ud)
	}
	return temporal.NewApplicationErrorWithOptions(typ+" (message encrypted: the codec endpoint decodes it)", typ, temporal.ApplicationErrorOptions{
		NonRetryable: nonRetryable,
		Details:      details,
	})
}

// unavailableDetail is the UnavailableDetail of a guardrail check's
// GuardrailsUnavailable failure (workflows.NewUnavailable).
func unavailableDetail(ae *temporal.ApplicationError) (ud workflows.UnavailableDetail, ok bool) {
	if ae == nil || ae.Type() != workflows.ErrGuardrailsUnavailable || !ae.HasDetails() {
		return ud, false
	}
	// Details not yet encoded are assigned by type: other details panic.
	defer func() {
		if recover() != nil {
			ud, ok = workflows.UnavailableDetail{}, false
		}
	}()
	var lf workflows.LocalFailure
	return ud, ae.Details(&lf, &ud) == nil
}
