package system

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/telemetry"
	"github.com/riposte-dev/riposte/workflows"
)

// WorkerOptions configure the worker: where its actions go and what
// guards them.
type WorkerOptions struct {
	// Connections is riposte.yaml (vendor connections); a missing file
	// means none, or the vendor lab under LabWithoutConfig.
	Connections string
	Lab         LabMode
	// Policy is policy.yaml (site guardrails); a missing file means none.
	Policy string
	// StickyCache is the process's sticky workflow cache size (0 = the
	// default).
	StickyCache int
	// BudgetIDSuffix keeps this system's budget guards apart from others'
	// in a shared namespace.
	BudgetIDSuffix string
	// Worker tunes the SDK worker; its interceptors run before telemetry's.
	Worker worker.Options
	// Register adds workflows or activities of the caller's (bench).
	Register func(worker.Worker)
	// Playbooks are playbook files and directories (the ones serve loads)
	// added to the playbook store, so that runs referring to their
	// playbook version find it; missing paths are skipped.
	Playbooks []string
}

// WorkerStopTimeout is how long a stopping worker (SIGTERM) lets the
// steps in flight finish before it cancels them. Below Kubernetes'
// terminationGracePeriodSeconds (60 in deploy/kubernetes/worker.yaml) and
// docker-compose.yml's stop_grace_period, so the process is not killed
// first.
const WorkerStopTimeout = 30 * time.Second

// LabMode says when the vendor lab (fake vendors on loopback) serves the
// actions.
type LabMode int

const (
	// LabNever: actions go to the configured connections only.
	LabNever LabMode = iota
	// LabWithoutConfig: the lab when there is no riposte.yaml (dev).
	LabWithoutConfig
	// LabAlways: the lab whatever riposte.yaml says (bench).
	LabAlways
)

// workerBuild is what prepareWorker read and checked before anything
// started.
type workerBuild struct {
	o WorkerOptions
	// conns are riposte.yaml's connections; connsOK says the file exists.
	conns   map[string]activities.Connection
	connsOK bool
	// policy is the policy file to enforce ("" = none).
	policy string
}

// prepareWorker reads and checks the worker's local files (playbook paths,
// riposte.yaml, policy.yaml) before anything starts: a mistake in them is
// reported at start, not after connecting to Temporal (where an
// unreachable cluster would hide it behind a connection error).
func prepareWorker(o WorkerOptions, logger *slog.Logger) (*workerBuild, error) {
	var paths []string
	for _, p := range o.Playbooks {
		if ok, err := exists(p); err != nil {
			return nil, &Error{Code: 2, Err: fmt.Errorf("--playbooks (or RIPOSTE_PLAYBOOKS) %s: %w", p, err)}
		} else if ok {
			paths = append(paths, p)
		}
	}
	o.Playbooks = paths
	b := &workerBuild{o: o}
	if o.Lab != LabAlways {
		var err error
		if b.conns, b.connsOK, err = LoadConnections(o.Connections, logger); err != nil {
			return nil, err
		}
	}
	if ok, err := exists(o.Policy); err != nil {
		return nil, &Error{Code: 2, Err: fmt.Errorf("--policy (or RIPOSTE_POLICY) %s: %w", o.Policy, err)}
	} else if ok {
		b.policy = o.Policy
		// Loaded again by the guardrails once the client is connected;
		// read here so that a broken file stops start-up first.
		if _, err := activities.LoadPolicy(b.policy); err != nil {
			return nil, policyInvalid(b.policy, err)
		}
	}
	return b, nil
}

// policyInvalid is the refusal of an invalid policy file.
func policyInvalid(path string, err error) error {
	return &Error{Code: 1, Err: fmt.Errorf("policy %s (--policy or RIPOSTE_POLICY) is invalid; not starting: %w", path, err)}
}

// startWorker builds and starts the worker from what prepareWorker read.
// withAPI says the API runs in this process and adds every playbook it
// loads to the same store.
func (s *System) startWorker(b *workerBuild, obs *observability, withAPI bool) error {
	o := b.o
	env := activities.NewEnv(s.logger)
	// A reset run's contain calls ask whether the run it was reset from
	// applied what they find (catalog.Call.ResetFrom).
	env.PriorCall = priorCall(s.Client, s.dataConverter)
	useLab := o.Lab == LabAlways
	if !useLab {
		env.Connections = b.conns
		useLab = !b.connsOK && o.Lab == LabWithoutConfig
	}
	if useLab {
		l, err := lab.Start(lab.Options{Logger: s.logger})
		if err != nil {
			return fmt.Errorf("starting the vendor lab: %w", err)
		}
		s.Lab = l
		s.closers = append(s.closers, func() { _ = l.Close() })
		env.Connections = l.Connections()
	}
	policy := b.policy
	g, err := activities.NewGuardrails(s.Client, s.Temporal.TaskQueue, policy, s.logger)
	if err != nil {
		return policyInvalid(policy, err)
	}
	g.Budgets.IDSuffix = o.BudgetIDSuffix
	var poster *slackapp.Poster
	if s.slack.Enabled() {
		if poster, err = slackapp.NewPoster(s.slack, slackapp.PosterOptions{Logger: s.logger}); err != nil {
			return err
		}
		env.Slack = poster
	}
	setStickyCache(o.StickyCache)
	wo := o.Worker
	if wo.WorkerStopTimeout == 0 {
		// The SDK's default (0) cancels every activity in flight the
		// moment the worker stops: a SIGTERM would abort vendor calls
		// half-way instead of letting them finish.
		wo.WorkerStopTimeout = WorkerStopTimeout
	}
	if obs != nil {
		// Step metrics and step-aware activity logs.
		wo.Interceptors = append(append([]interceptor.WorkerInterceptor(nil), wo.Interceptors...),
			telemetry.NewWorkerInterceptor(telemetry.WorkerInterceptorOptions{Metrics: obs.Metrics, Catalog: activities.Catalog(),
				IsPlaybookRun: workflows.IsPlaybookWorkflowType, PlaybookAttribute: workflows.SAPlaybookName.GetName(),
				ApprovalRequestActivity: workflows.ActivityOpenGate}))
	}
	// The SDK stops a worker for good on a poll error it does not retry
	// (namespace not found, invalid argument) and only logs it: say so on
	// WorkerDone, so that the process exits and is restarted rather than
	// staying up, alive and ready, polling nothing.
	stopped := make(chan error, 1)
	prevFatal := wo.OnFatalError
	wo.OnFatalError = func(err error) {
		if prevFatal != nil {
			prevFatal(err)
		}
		s.logger.Error("the worker stopped polling", "task_queue", s.Temporal.TaskQueue, "namespace", s.Temporal.Namespace, "error", err.Error())
		select {
		case stopped <- err:
		default:
		}
	}
	eo := engine.WorkerOptions{TaskQueue: s.Temporal.TaskQueue, Env: env, Guardrails: g, Slack: poster, Keys: s.DecisionKeys, Worker: wo}
	if s.Playbooks != nil && (withAPI || len(o.Playbooks) > 0 || s.Playbooks.Dir() != "") {
		// The worker can load playbooks by reference (and says so).
		eo.Playbooks = s.Playbooks
	} else {
		s.logger.Warn("no playbooks directory and no playbook store (RIPOSTE_PLAYBOOKS, RIPOSTE_PLAYBOOK_STORE): runs must carry their playbook inline")
	}
	w, err := engine.NewWorker(s.Client, eo)
	if err != nil {
		return err
	}
	if o.Register != nil {
		o.Register(w)
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("starting worker: %w", err)
	}
	s.Worker, s.Policy, s.workerDone = w, policy, stopped
	s.closers = append(s.closers, w.Stop)
	return nil
}

// LoadConnections reads riposte.yaml when present, and checks all of it
// (its detections: section too); warnings go to logger with their
// position. ok is false when there is no file.
func LoadConnections(path string, logger *slog.Logger) (map[string]activities.Connection, bool, error) {
	ok, err := exists(path)
	if err != nil {
		return nil, false, &Error{Code: 2, Err: fmt.Errorf("connection config %s (--config or RIPOSTE_CONFIG): %w", path, err)}
	}
	if !ok {
		return nil, false, nil
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	conns, diags, err := config.LoadConnections(path)
	for _, d := range diags.Warnings() {
		logger.Warn("connection config", "warning", d.String())
	}
	if err != nil {
		return nil, false, &Error{Code: 1, Err: fmt.Errorf("connection config %s (--config or RIPOSTE_CONFIG) is invalid; not starting:\n%w", path, err)}
	}
	return conns, true, nil
}

// exists reports whether a file exists; other stat errors are returned.
// An empty path exists nowhere.
func exists(path string) (bool, error) {
	if path == "" {
		return false, nil
	}
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return false, err
}

// setStickyCache sizes the process's sticky workflow cache (0: the
// default). The SDK reads it once, when the first worker of the process
// starts; later calls change nothing.
func setStickyCache(size int) {
	if size <= 0 {
		size = engine.DefaultStickyCacheSize
	}
	worker.SetStickyWorkflowCacheSize(size)
}
