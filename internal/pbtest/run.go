package pbtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/internal/safefile"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/internal/yamlx"
	"github.com/riposte-dev/riposte/workflows"
)

const (
	// ViaTest is Decision.Via for votes cast by a test.
	ViaTest = "test"
	// defaultVoteDelay is how long after a gate opens its first vote is
	// cast, unless the case says `after:`; later votes follow a second apart.
	defaultVoteDelay = time.Second
	voteInterval     = time.Second
	// stuckTimeout bounds the wall time a run may sit with nothing to do
	// (no timer, no activity) before it is declared stuck.
	stuckTimeout = 10 * time.Second
)

// inProcess are the actions whose real implementation runs in tests when
// a step is not stubbed: they are pure and never leave the process (noop
// echoes its params, log returns its message, fail fails). Every other
// action answers with activities.Simulate.
var inProcess = map[string]bool{"core.noop": true, "core.log": true, "core.fail": true}

// Runner runs playbook test files.
type Runner struct {
	// Catalog is the action catalog (nil: activities.Catalog()).
	Catalog *catalog.Catalog
	// Filter, when set, runs only the cases whose full name
	// (playbook/case name) it matches.
	Filter *regexp.Regexp
	// Out, when set, receives go-test-like progress: failures, one line per
	// file, and with Verbose every case and its step trace.
	Out     io.Writer
	Verbose bool
	// Finding is the site's finding-view settings (riposte.yaml
	// detections:), with which the dispatcher builds the view the
	// trigger and the run read (nil: finding.DefaultConfig()).
	Finding *finding.Config

	once     sync.Once
	interp   *workflows.Interpreter
	handlers map[string]activities.Handler
	actEnv   *activities.Env
}

// Report is the outcome of a whole run of test files.
type Report struct {
	Files    []*FileResult
	Duration time.Duration
}

// FileResult is the outcome of one test file.
type FileResult struct {
	Path string
	// Playbook is the name of the playbook under test ("" when it could not
	// be loaded); PlaybookFile is where it was read from.
	Playbook     string
	PlaybookFile string
	// Problems are why the file's cases could not run: the test file or
	// the playbook does not load or validate. They count as one failure.
	Problems playbook.Diagnostics
	Cases    []*CaseResult
	Duration time.Duration
}

// Failed reports whether the file had problems or a failing case.
func (f *FileResult) Failed() bool {
	if len(f.Problems) > 0 {
		return true
	}
	for _, c := range f.Cases {
		if !c.Passed() {
			return true
		}
	}
	return false
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	Name     string
	Playbook string
	// Failures are the mismatches, one readable line each; none = passed.
	Failures []string
	Duration time.Duration
	// Result is the run's result (nil when the playbook did not trigger or
	// the run did not complete).
	Result *workflows.Result
	// Calls are the action calls the run made, in order.
	Calls []Call
}

// FullName is playbook/case.
func (c *CaseResult) FullName() string { return c.Playbook + "/" + c.Name }

// Passed reports whether the case met its expectations.
func (c *CaseResult) Passed() bool { return len(c.Failures) == 0 }

// Call is one action call a run made (one attempt).
type Call struct {
	Step string `json:"step"`
	// Index is the for_each item, -1 for a plain step.
	Index          int            `json:"index"`
	Attempt        int            `json:"attempt"`
	Action         string         `json:"action"`
	Params         map[string]any `json:"params"`
	IdempotencyKey string         `json:"idempotency_key"`
	DryRun         bool           `json:"dry_run,omitempty"`
	// Stubbed is true when a stub answered (false: in-process action or
	// Simulate).
	Stubbed bool           `json:"stubbed"`
	Output  map[string]any `json:"output,omitempty"`
	Error   string         `json:"error,omitempty"`
}

// Passed reports whether every file loaded and every case passed.
func (r *Report) Passed() bool {
	for _, f := range r.Files {
		if f.Failed() {
			return false
		}
	}
	return true
}

// Counts returns the number of cases run and failed, and of files that
// could not run (problems).
func (r *Report) Counts() (cases, failed, broken int) {
	for _, f := range r.Files {
		if len(f.Problems) > 0 {
			broken++
		}
		for _, c := range f.Cases {
			cases++
			if !c.Passed() {
				failed++
			}
		}
	}
	return
}

func (r *Runner) init() {
	r.once.Do(func() {
		if r.Catalog == nil {
			r.Catalog = activities.Catalog()
		}
		r.interp = workflows.NewInterpreter(r.Catalog)
		// Scripted votes are sealed like the API seals them, with a key
		// that lives only in this process.
		raw := make([]byte, 32)
		_, _ = rand.Read(raw)
		r.interp.Keys, _ = signing.NewKeys("pbtest", map[string][]byte{"pbtest": raw})
		r.handlers = map[string]activities.Handler{}
		for _, d := range activities.Definitions() {
			if inProcess[d.Name] {
				r.handlers[d.Name] = d.Run
			}
		}
		r.actEnv = activities.NewEnv(nil)
		// The SDK otherwise hashes the whole executable (hundreds of MB)
		// inside the first workflow task that schedules an activity, which
		// trips the 1s deadlock detector on a busy machine (TMPRL1101).
		worker.SetBinaryChecksum("riposte-test")
	})
}

func (r *Runner) printf(format string, args ...any) {
	if r.Out != nil {
		fmt.Fprintf(r.Out, format, args...)
	}
}

// Run runs the test files in order.
func (r *Runner) Run(files []string) *Report {
	start := time.Now()
	rep := &Report{}
	for _, f := range files {
		rep.Files = append(rep.Files, r.RunFile(f))
	}
	rep.Duration = time.Since(start)
	return rep
}

// RunFile loads one test file and its playbook, checks them, and runs the
// cases the filter selects.
func (r *Runner) RunFile(path string) *FileResult {
	r.init()
	start := time.Now()
	fr := &FileResult{Path: path}
	defer func() {
		fr.Duration = time.Since(start)
		r.fileLine(fr)
	}()
	f, diags := ReadFile(path)
	var pbName string
	if f != nil {
		pbName = f.Playbook
	}
	pbFile, perr := resolvePlaybook(path, pbName)
	if perr != nil {
		line, col := 1, 1
		if f != nil && f.playbookNode != nil {
			line, col = f.playbookNode.Line, f.playbookNode.Column
		}
		diags = append(diags, playbook.Diagnostic{File: path, Line: line, Col: col, Severity: yamlx.SeverityError, Message: perr.Error()})
	}
	var c *playbook.Compiled
	var pbDiags playbook.Diagnostics
	if pbFile != "" {
		fr.PlaybookFile = pbFile
		var pdiags playbook.Diagnostics
		c, pdiags = playbook.LoadFile(pbFile, r.Catalog)
		if len(pdiags) > 0 {
			line, col := 1, 1
			if f != nil && f.playbookNode != nil {
				line, col = f.playbookNode.Line, f.playbookNode.Column
			}
			pbDiags = append(playbook.Diagnostics{{File: path, Line: line, Col: col, Severity: yamlx.SeverityError,
				Message: fmt.Sprintf("the playbook %s does not validate (%d problem%s):", pbFile, len(pdiags), plural(len(pdiags)))}}, pdiags...)
		} else {
			fr.Playbook = c.Playbook.Name
			if pbName != "" && !strings.HasSuffix(pbName, ".yaml") && !strings.HasSuffix(pbName, ".yml") && c.Playbook.Name != pbName {
				diags = append(diags, playbook.Diagnostic{File: path, Line: f.playbookNode.Line, Col: f.playbookNode.Column, Severity: yamlx.SeverityError,
					Message: fmt.Sprintf("playbook: %s, but %s defines playbook %s", pbName, pbFile, c.Playbook.Name)})
			}
		}
	}
	if f != nil && c != nil {
		diags = append(diags, Check(f, c, r.Catalog)...)
	}
	// The test file's own problems first, in position order, then the
	// playbook's.
	diags = append(diags.Sort(), pbDiags...)
	if len(diags) > 0 {
		fr.Problems = diags
		r.printf("--- FAIL: %s\n", path)
		for _, d := range diags {
			r.printf("    %s\n", d.String())
		}
		return fr
	}
	for _, tc := range f.Cases {
		full := c.Playbook.Name + "/" + tc.Name
		if r.Filter != nil && !r.Filter.MatchString(full) {
			continue
		}
		if r.Verbose {
			r.printf("=== RUN   %s\n", full)
		}
		cr := r.runCase(f, tc, c)
		fr.Cases = append(fr.Cases, cr)
		r.caseLines(cr)
	}
	return fr
}

func (r *Runner) caseLines(cr *CaseResult) {
	if r.Verbose {
		for _, l := range trace(cr) {
			r.printf("    %s\n", l)
		}
	}
	if cr.Passed() {
		if r.Verbose {
			r.printf("--- PASS: %s (%.2fs)\n", cr.FullName(), cr.Duration.Seconds())
		}
		return
	}
	r.printf("--- FAIL: %s (%.2fs)\n", cr.FullName(), cr.Duration.Seconds())
	for _, l := range cr.Failures {
		r.printf("    %s\n", strings.ReplaceAll(l, "\n", "\n        "))
	}
}

func (r *Runner) fileLine(fr *FileResult) {
	switch {
	case fr.Failed():
		r.printf("FAIL\t%s\t%.3fs\n", fr.Path, fr.Duration.Seconds())
	case len(fr.Cases) == 0:
		r.printf("ok  \t%s\t%.3fs [no cases to run]\n", fr.Path, fr.Duration.Seconds())
	default:
		r.printf("ok  \t%s\t%.3fs\n", fr.Path, fr.Duration.Seconds())
	}
}

// trace is the verbose step-by-step account of a case.
func trace(cr *CaseResult) []string {
	res := cr.Result
	if res == nil {
		return nil
	}
	attempts := map[string]int{}
	for _, c := range cr.Calls {
		attempts[c.Step]++
	}
	var out []string
	for _, s := range res.Steps {
		l := fmt.Sprintf("step %s: %s", s.ID, s.Status)
		var extra []string
		if n := attempts[s.ID]; n > 0 {
			extra = append(extra, fmt.Sprintf("%d call%s", n, plural(n)))
		}
		if s.Gate != nil {
			g := "gate " + s.Gate.State
			if s.Gate.Decision != nil && s.Gate.Decision.User != "" {
				g += " by " + s.Gate.Decision.User
			}
			extra = append(extra, g)
		}
		if s.Error != "" {
			extra = append(extra, "error: "+s.Error)
		}
		if s.Reason != "" {
			extra = append(extra, "reason: "+s.Reason)
		}
		if len(extra) > 0 {
			l += " (" + strings.Join(extra, "; ") + ")"
		}
		out = append(out, l)
	}
	l := "run: " + res.Status
	if res.Error != "" {
		l += " (" + res.Error + ")"
	}
	return append(out, l)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// resolvePlaybook finds the playbook a test file tests: `playbook:` as a
// path (relative to the test file) or a name, or the sibling NAME.yaml.
func resolvePlaybook(testPath, name string) (string, error) {
	dir := filepath.Dir(testPath)
	if name == "" {
		base := filepath.Base(testPath)
		stem := strings.TrimSuffix(strings.TrimSuffix(base, ".test.yaml"), ".test.yml")
		for _, ext := range []string{".yaml", ".yml"} {
			p := filepath.Join(dir, stem+ext)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		return "", fmt.Errorf("no playbook %s.yaml beside the test file; add one or say playbook: NAME", stem)
	}
	if strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.ContainsRune(name, '/') {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("playbook: %s: %v", name, errors.Unwrap(err))
		}
		return p, nil
	}
	for _, ext := range []string{".yaml", ".yml"} {
		p := filepath.Join(dir, name+ext)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("playbook: %s: %v", name, err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() || !playbook.IsPlaybookFile(p) {
			continue
		}
		src, err := safefile.ReadFile(p, safefile.MaxSize)
		if err != nil {
			continue
		}
		if pb, _ := playbook.Parse(p, src); pb != nil && pb.Name == name {
			return p, nil
		}
	}
	return "", fmt.Errorf("playbook: no playbook named %s in %s", name, dir)
}

func (r *Runner) runCase(f *File, tc *Case, c *playbook.Compiled) (cr *CaseResult) {
	start := time.Now()
	cr = &CaseResult{Name: tc.Name, Playbook: c.Playbook.Name}
	defer func() { cr.Duration = time.Since(start) }()

	det := intake.Detection(tc.Detection)
	cfg := finding.DefaultConfig()
	if r.Finding != nil {
		cfg = *r.Finding
	}
	view := finding.Build(det, cfg)
	triggered := true
	// The dispatcher starts no playbook for a finding the detector
	// withdrew or a passing compliance result, whatever the trigger says.
	withdrawn := ""
	if state, _ := view["state"].(string); state != finding.StateActive {
		r, _ := view["state_reason"].(string)
		withdrawn = fmt.Sprintf("finding.state is %q (%s): no playbook starts for it", state, r)
		triggered = false
	} else if c.When != nil {
		ok, err := c.When.EvalBool(map[string]any{"detection": map[string]any(det), "finding": view})
		if err != nil {
			cr.Failures = append(cr.Failures, fmt.Sprintf("trigger.when: %v", err))
			return cr
		}
		triggered = ok
	}
	if t := tc.Expect.Triggered; t != nil && !*t {
		if triggered {
			cr.Failures = append(cr.Failures, fmt.Sprintf("triggered: want false, got true (trigger.when %s is true for this detection)", c.Playbook.Trigger.When))
		}
		return cr
	}
	if withdrawn != "" {
		cr.Failures = append(cr.Failures, fmt.Sprintf("triggered: %s, so the playbook would not run; if that is the point, say expect: {triggered: false}", withdrawn))
		return cr
	}
	if !triggered {
		cr.Failures = append(cr.Failures, fmt.Sprintf("triggered: trigger.when is false for this detection, so the playbook would not run (%s); if that is the point, say expect: {triggered: false}", c.Playbook.Trigger.When))
		return cr
	}

	var s testsuite.WorkflowTestSuite
	s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(stuckTimeout)
	run := &caseRun{r: r, f: f, c: tc, pb: c, env: env, opened: map[string]int{}, votes: map[string][]*voteState{}}
	for step, a := range tc.Approvals {
		for range a.Votes {
			run.votes[step] = append(run.votes[step], &voteState{})
		}
	}
	workflows.Register(env, r.interp)
	for _, a := range r.Catalog.Actions() {
		env.RegisterActivityWithOptions(run.action(a), activity.RegisterOptions{Name: a.Name})
	}
	env.RegisterActivityWithOptions(run.openGate, activity.RegisterOptions{Name: workflows.ActivityOpenGate})
	env.RegisterActivityWithOptions(run.updateGate, activity.RegisterOptions{Name: workflows.ActivityUpdateGate})
	// The site guardrails as a worker with no policy file has them: allow.
	env.RegisterActivityWithOptions(func(_ context.Context, req workflows.PolicyCheck) (policy.Decision, error) {
		return (&policy.Policy{}).Evaluate(req.Request, false), nil
	}, activity.RegisterOptions{Name: workflows.ActivityPolicyCheck})

	shadow := c.Playbook.Mode == playbook.ModeShadow && !tc.DryRun
	id := dispatch.WorkflowID(c.Playbook.Name, det)
	switch {
	case tc.DryRun:
		id = "dryrun:" + id + ":test"
	case shadow:
		id = "shadow:" + id
	}
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id, TaskQueue: workflows.DefaultTaskQueue})
	run.id = id
	in := workflows.Input{
		Playbook:  c.Playbook,
		Digest:    c.Digest,
		Detection: map[string]any(det),
		Finding:   view,
		DryRun:    tc.DryRun,
		Shadow:    shadow,
		Requester: tc.Requester,
		Approval:  f.ApprovalDefaults,
		Rev:       workflows.CurrentRev, // as the dispatcher starts runs
	}

	var panicked string
	func() {
		defer func() {
			if p := recover(); p != nil {
				panicked = fmt.Sprint(p)
			}
		}()
		env.ExecuteWorkflow(workflows.PlaybookWorkflow, in)
	}()
	run.mu.Lock()
	defer run.mu.Unlock()
	cr.Calls = run.calls
	if panicked != "" || !env.IsWorkflowCompleted() {
		msg := "the run did not complete"
		if strings.Contains(panicked, "test timeout") {
			msg += fmt.Sprintf(": nothing happened for %s of wall time (no timer, no activity)", stuckTimeout)
		} else if panicked != "" {
			msg += ": " + firstLine(panicked)
		}
		cr.Failures = append(cr.Failures, run.problems...)
		cr.Failures = append(cr.Failures, msg)
		return cr
	}
	res, err := resultOf(env)
	if err != nil {
		cr.Failures = append(cr.Failures, run.problems...)
		cr.Failures = append(cr.Failures, "the run ended with an error: "+err.Error())
		return cr
	}
	cr.Result = res

	for _, step := range run.unplanned {
		cr.Failures = append(cr.Failures, fmt.Sprintf("gate on step %s is still waiting: add approvals.%s (approve: USERS, deny: USER, or timeout: true)", step, step))
	}
	cr.Failures = append(cr.Failures, run.problems...)
	cr.Failures = append(cr.Failures, run.voteProblems(res)...)
	if len(run.unplanned) > 0 {
		// The gate timed out in virtual time only because nobody was
		// scripted to answer; comparing the rest would mislead.
		return cr
	}
	cr.Failures = append(cr.Failures, compare(&tc.Expect, res, run.calls)...)
	return cr
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// resultOf returns the run's result, also for a run that failed.
func resultOf(env *testsuite.TestWorkflowEnvironment) (*workflows.Result, error) {
	var res workflows.Result
	err := env.GetWorkflowError()
	if err == nil {
		if gerr := env.GetWorkflowResult(&res); gerr != nil {
			return nil, gerr
		}
		return &res, nil
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == workflows.ErrRunFailed {
		if derr := ae.Details(&res); derr != nil {
			return nil, fmt.Errorf("decoding the failed run's result: %w", derr)
		}
		return &res, nil
	}
	return nil, err
}
