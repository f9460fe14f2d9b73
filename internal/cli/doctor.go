package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/internal/pbstore"
	"github.com/riposte-dev/riposte/internal/signing"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/system"
)

const doctorUsage = `Usage: riposte doctor [flags]

Checks a deployment with the same settings (flags and env) as riposte
worker and serve, and prints one line per check:

  temporal      the frontend answers, with the TLS / API key given
  namespace     the namespace exists (and its retention)
  attributes    Riposte's search attributes are registered with their types
  workers       how many workers poll the task queue, and the revision runs
                will be started at (skipped when none polls yet)
  compression   RIPOSTE_PAYLOAD_COMPRESSION is valid, and on only where
                every worker polling reads compressed payloads (fails
                otherwise); says when it could be turned on
  codec         the payload key file (or RIPOSTE_CODEC_KEYS) is readable
  decisions     the decision signing key: RIPOSTE_DECISION_KEY_FILE (or
                RIPOSTE_DECISION_KEYS) is readable, or derived from the
                payload key; required with --no-encryption
  policy        policy.yaml (--policy) is valid, as the worker loads it; its
                warnings (a protected pattern mixing Latin, Cyrillic or
                Greek letters) go to stderr
  sticky-cache  --sticky-cache / RIPOSTE_STICKY_CACHE is a whole number >= 1
  pb-store      the playbook store (--playbook-store) is a directory the
                worker can use (or create)
  slack         SLACK_BOT_TOKEN is valid (auth.test), when set; its workspace
                is SLACK_TEAM_ID (and organisation SLACK_ENTERPRISE_ID) when
                set, it holds the manifest's scopes (X-OAuth-Scopes), and
                Slack accepts SLACK_APP_TOKEN (apps.connections.open)
  connections   riposte.yaml parses, every secret resolves, and each
                vendor's harmless read works (token fetch + one lookup, as
                riposte connections check)
  clock         this host's clock against the Date header of Slack and the
                vendors (skew above --max-skew fails: tokens and signed
                Slack requests are time-bound)

Exits 0 when every check passes or is skipped, 1 otherwise. Read-only: it
creates nothing.`

type doctorOptions struct {
	Temporal   config.Temporal
	Runtime    runtimeFlags
	Encryption encryptionFlags
	MaxSkew    time.Duration
	Timeout    time.Duration
}

func doctorCommand() command {
	return command{name: "doctor", summary: "Check a deployment: Temporal, namespace, keys, Slack, vendors, clock", usage: doctorUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			var o doctorOptions
			fs := newFlagSet("doctor", doctorUsage, s)
			o.Temporal.RegisterFlags(fs)
			o.Runtime.register(fs)
			o.Encryption.register(fs)
			fs.DurationVar(&o.MaxSkew, "max-skew", 30*time.Second, "largest clock difference accepted")
			fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "timeout of each check")
			pos, code, ok := parseArgs(fs, args)
			if !ok {
				return code
			}
			if code, ok := noArgs(s, "doctor", pos, "; it checks the deployment its flags and environment describe (riposte doctor -h)"); !ok {
				return code
			}
			if failed := runDoctor(ctx, o, s); failed > 0 {
				fmt.Fprintf(s.Out, "\n%d check(s) failed\n", failed)
				return 1
			}
			fmt.Fprintln(s.Out, "\nall checks passed")
			return 0
		}}
}

// doctorReport prints check lines and counts failures.
type doctorReport struct {
	out    io.Writer
	failed int
}

func (r *doctorReport) ok(name, format string, args ...any) {
	fmt.Fprintf(r.out, "ok    %-12s %s\n", name, fmt.Sprintf(format, args...))
}

func (r *doctorReport) fail(name, format string, args ...any) {
	r.failed++
	fmt.Fprintf(r.out, "FAIL  %-12s %s\n", name, fmt.Sprintf(format, args...))
}

func (r *doctorReport) skip(name, format string, args ...any) {
	fmt.Fprintf(r.out, "skip  %-12s %s\n", name, fmt.Sprintf(format, args...))
}

// skew compares the local clock with an HTTP Date header.
func (r *doctorReport) skew(o doctorOptions, where string, h http.Header, sent, got time.Time) {
	d := h.Get("Date")
	if d == "" {
		return
	}
	remote, err := http.ParseTime(d)
	if err != nil {
		return
	}
	// The Date header has 1s resolution and was set between sent and got.
	local := sent.Add(got.Sub(sent) / 2)
	diff := local.Sub(remote)
	if diff < 0 {
		diff = -diff
	}
	if diff > o.MaxSkew+time.Second {
		r.fail("clock", "%s's clock differs from this host's by %s (max %s): fix NTP", where, diff.Round(time.Second), o.MaxSkew)
		return
	}
	r.ok("clock", "within %s of %s", (diff + time.Second).Round(time.Second), where)
}

func runDoctor(ctx context.Context, o doctorOptions, s Streams) int {
	r := &doctorReport{out: s.Out}
	logger := slog.New(slog.DiscardHandler)
	check := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, o.Timeout) }

	// Temporal, namespace, search attributes, workers and compression.
	compressionDone := false
	if err := o.Temporal.Validate(); err != nil {
		r.fail("temporal", "%v", err)
	} else {
		how := "plain gRPC"
		switch {
		case o.Temporal.APIKey != "":
			how = "TLS + API key"
		case o.Temporal.TLSCert != "":
			how = "mTLS"
		case o.Temporal.TLS || o.Temporal.TLSCA != "":
			how = "TLS"
		}
		cctx, cancel := check()
		c, err := o.Temporal.Dial(cctx, logger, nil)
		cancel()
		if err != nil {
			r.fail("temporal", "%s (%s): %v", o.Temporal.Address, how, err)
		} else {
			defer c.Close()
			cctx, cancel := check()
			info, err := c.WorkflowService().GetSystemInfo(cctx, &workflowservice.GetSystemInfoRequest{})
			cancel()
			if err != nil {
				r.fail("temporal", "%s (%s): %v", o.Temporal.Address, how, err)
			} else {
				r.ok("temporal", "%s (%s), server %s", o.Temporal.Address, how, info.GetServerVersion())
			}
			cctx, cancel = check()
			desc, err := c.WorkflowService().DescribeNamespace(cctx, &workflowservice.DescribeNamespaceRequest{Namespace: o.Temporal.Namespace})
			cancel()
			if err != nil {
				r.fail("namespace", "%s: %v (create it: riposte setup)", o.Temporal.Namespace, err)
			} else {
				r.ok("namespace", "%s (%s, retention %s)", o.Temporal.Namespace, strings.ToLower(strings.TrimPrefix(desc.GetNamespaceInfo().GetState().String(), "NAMESPACE_STATE_")),
					desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration())
				cctx, cancel = check()
				err = engine.CheckSearchAttributes(cctx, c, o.Temporal.Namespace, false)
				cancel()
				if err != nil {
					r.fail("attributes", "%v", err)
				} else {
					r.ok("attributes", "all registered with Riposte's types")
				}
				cctx, cancel = check()
				tq, err := c.DescribeTaskQueue(cctx, o.Temporal.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
				cancel()
				switch line, ok := engine.WorkersLine(o.Temporal.TaskQueue, tq.GetPollers()); {
				case err != nil:
					r.fail("workers", "describing task queue %q: %v", o.Temporal.TaskQueue, err)
				case !ok:
					r.skip("workers", "%s", line)
				default:
					r.ok("workers", "%s", line)
				}
				if err == nil {
					compressionCheck(r, o.Encryption, tq.GetPollers())
					compressionDone = true
				}
			}
		}
	}
	if !compressionDone && o.Encryption.envErr != nil {
		// Without the workers' identities the setting is still checked.
		compressionCheck(r, o.Encryption, nil)
	}

	// Payload key.
	var keys *codec.Keyring
	if err := o.Encryption.disabledErr; err != nil {
		r.fail("codec", "%v", err)
	} else if o.Encryption.Disabled {
		r.skip("codec", "--no-encryption: payloads are stored in clear text")
	} else if k, err := codec.KeyringFromEnv(); err != nil {
		r.fail("codec", "%v", err)
	} else {
		keys = k
		where := "$" + codec.EnvKeys
		if f := os.Getenv(codec.EnvKeyFile); f != "" {
			where = f
		}
		r.ok("codec", "%s readable, active key %q, %d key(s) for decoding", where, k.ActiveKeyID(), len(k.KeyIDs()))
	}

	// Decision signing key, as serve and worker choose it.
	switch dk, err := decisionKeys(); {
	case err != nil:
		r.fail("decisions", "%v", err)
	case dk != nil:
		where := "$" + signing.EnvKeys
		if f := strings.TrimSpace(os.Getenv(signing.EnvKeyFile)); f != "" {
			where = f
		}
		r.ok("decisions", "%s readable, %d key(s)", where, len(dk.KeyIDs()))
	case !o.Encryption.Disabled && keys == nil:
		r.skip("decisions", "derived from the payload key, which is not readable (see codec)")
	default:
		if _, err := system.DecisionKeys(keys, nil); err != nil {
			r.fail("decisions", "%v", errors.Unwrap(err))
		} else {
			r.ok("decisions", "derived from the payload key")
		}
	}

	// Worker settings: policy, sticky cache, playbook store.
	if _, err := os.Stat(o.Runtime.Policy); errors.Is(err, fs.ErrNotExist) && o.Runtime.explicit("policy", "RIPOSTE_POLICY") {
		r.fail("policy", "%s not found: a worker given it refuses to start (it would run without site guardrails)", o.Runtime.Policy)
	} else if errors.Is(err, fs.ErrNotExist) {
		r.skip("policy", "%s not found: no site guardrails", o.Runtime.Policy)
	} else if err != nil {
		r.fail("policy", "%v", err)
	} else if p, err := activities.LoadPolicy(o.Runtime.Policy); err != nil {
		r.fail("policy", "%s is invalid:\n%v", o.Runtime.Policy, err)
	} else {
		r.ok("policy", "%s: %d budget(s), confidence floor %d, safe mode %v", o.Runtime.Policy, len(p.Budgets), p.ConfidenceFloor, p.SafeMode)
		// Its warnings go to stderr with positions, as riposte.yaml's.
		for _, d := range p.Warnings {
			fmt.Fprintln(s.Err, d.Pretty())
		}
	}
	if err := o.Runtime.check(); err != nil {
		r.fail("sticky-cache", "%v", err)
	} else {
		r.ok("sticky-cache", "%d runs kept in worker memory", o.Runtime.StickyCache)
	}
	if dir := o.Runtime.PlaybookStore; dir == "" {
		r.skip("pb-store", "--playbook-store / RIPOSTE_PLAYBOOK_STORE not set: workers load playbooks from their playbooks directory")
	} else if writable, err := pbstore.CheckDir(dir); err != nil {
		r.fail("pb-store", "%v", err)
	} else if writable {
		r.ok("pb-store", "%s usable", dir)
	} else {
		r.ok("pb-store", "%s readable, not writable by this user (serve writes to it)", dir)
	}

	// Slack.
	// Trimmed as serve and the worker read it (slackapp.ConfigFromEnv): a
	// token from a Secret or a file often ends with a newline.
	// SLACK_API_URL too (one reading: ConfigFromEnv).
	if sc := slackapp.ConfigFromEnv(); sc.BotToken == "" {
		r.skip("slack", "SLACK_BOT_TOKEN not set: no Slack approvals")
	} else {
		api := strings.TrimRight(slack.APIURL, "/") // slack-go's default, as the Poster's
		if sc.APIURL != "" {
			api = strings.TrimRight(sc.APIURL, "/")
		}
		cctx, cancel := check()
		var resp *http.Response
		req, err := http.NewRequestWithContext(cctx, http.MethodPost, api+"/auth.test", nil)
		sent := time.Now()
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+sc.BotToken)
			resp, err = http.DefaultClient.Do(req)
		}
		got := time.Now()
		if err != nil {
			r.fail("slack", "auth.test: %v", err)
		} else {
			var body struct {
				OK           bool   `json:"ok"`
				Error        string `json:"error"`
				Team         string `json:"team"`
				TeamID       string `json:"team_id"`
				EnterpriseID string `json:"enterprise_id"`
				User         string `json:"user"`
				BotID        string `json:"bot_id"`
			}
			err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body)
			resp.Body.Close()
			switch {
			case err != nil:
				r.fail("slack", "auth.test: HTTP %d, unreadable answer: %v", resp.StatusCode, err)
			case !body.OK:
				r.fail("slack", "auth.test: %s (check SLACK_BOT_TOKEN)", body.Error)
			default:
				if problems := slackAppProblems(cctx, body.TeamID, body.EnterpriseID, resp.Header.Get("X-OAuth-Scopes")); len(problems) > 0 {
					r.fail("slack", "bot %s in team %s (%s), but %s", body.User, body.Team, body.TeamID, strings.Join(problems, "; "))
				} else {
					r.ok("slack", "bot %s in team %s (%s)", body.User, body.Team, body.TeamID)
				}
			}
			r.skew(o, "Slack", resp.Header, sent, got)
		}
		cancel()
	}

	// Vendor connections.
	// Its diagnostics, warnings included, go to stderr with positions.
	conns, found, err := loadConfig(o.Runtime.Config, false, s.Err)
	switch {
	case err != nil:
		r.fail("connections", "%v", err)
	case !found:
		r.skip("connections", "%s not found: no vendor connections", o.Runtime.Config)
	case len(conns) == 0:
		r.skip("connections", "%s configures no connections", o.Runtime.Config)
	default:
		names := make([]string, 0, len(conns))
		for n := range conns {
			names = append(names, n)
		}
		sort.Strings(names)
		// Secrets first: a reference that does not resolve is named as such.
		usable := map[string]activities.Connection{}
		for _, n := range names {
			c := conns[n]
			var bad []string
			for field, ref := range c.Secrets {
				if _, err := ref.Resolve(); err != nil {
					bad = append(bad, fmt.Sprintf("%s: %v", field, err))
				}
			}
			if len(bad) > 0 {
				sort.Strings(bad)
				r.fail("connections", "%s (%s): %s", n, c.Type, strings.Join(bad, "; "))
				continue
			}
			usable[n] = c
		}
		// Then each vendor's harmless read (token fetch + one lookup), as
		// riposte connections check does.
		env := activities.NewEnv(logger)
		env.CallTimeout = o.Timeout
		env.Connections = usable
		cctx, cancel := context.WithTimeout(ctx, o.Timeout*time.Duration(len(usable)+1))
		for _, res := range activities.CheckConnections(cctx, env) {
			switch res.Status {
			case "ok":
				r.ok("connections", "%s (%s): %s", res.Name, res.Type, res.Detail)
			case "skipped":
				r.skip("connections", "%s (%s): %s", res.Name, res.Type, res.Detail)
			default:
				msg := res.Detail
				if res.Needs != "" {
					msg += "; needs: " + res.Needs
				}
				r.fail("connections", "%s (%s): %s", res.Name, res.Type, msg)
			}
		}
		cancel()
		// The vendors' clocks, from their Date headers.
		for _, n := range slices.Sorted(maps.Keys(usable)) {
			c := usable[n]
			if c.BaseURL == "" {
				continue
			}
			cctx, cancel := check()
			req, err := http.NewRequestWithContext(cctx, http.MethodHead, c.BaseURL, nil)
			if err == nil {
				sent := time.Now()
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
					r.skew(o, n, resp.Header, sent, time.Now())
				}
			}
			cancel()
		}
	}
	return r.failed
}

// compressionCheck: payload compression may be on only where every worker
// polling reads compressed payloads (engine.CompressedMarker).
func compressionCheck(r *doctorReport, e encryptionFlags, pollers []*taskqueuepb.PollerInfo) {
	reads := engine.PollersReadCompressed(pollers)
	switch {
	case e.envErr != nil:
		r.fail("compression", "%v: worker and serve refuse to start with it", e.envErr)
	case e.Disabled:
		r.skip("compression", "--no-encryption: payloads are neither encrypted nor compressed")
	case e.Compression && !reads && len(pollers) > 0:
		r.fail("compression", "RIPOSTE_PAYLOAD_COMPRESSION is on but a worker polling is of a release before 2026-12-05 and cannot read compressed payloads: turn it off until every worker is upgraded")
	case e.Compression:
		r.ok("compression", "on: payloads compressed before they are encrypted")
	case reads:
		r.ok("compression", "off; every worker polling reads compressed payloads: once serve is upgraded too, RIPOSTE_PAYLOAD_COMPRESSION=true makes histories a quarter smaller")
	default:
		r.ok("compression", "off (RIPOSTE_PAYLOAD_COMPRESSION)")
	}
}

// slackAppProblems says why Slack approvals cannot work although the bot
// token is valid: SLACK_TEAM_ID or SLACK_ENTERPRISE_ID that is not the
// token's workspace or organisation (every click would be refused as from
// another workspace), a scope missing from the token's (scopes: Slack's
// X-OAuth-Scopes header; not checked when absent), an app-level token
// Slack refuses (Socket Mode: no click would arrive).
func slackAppProblems(ctx context.Context, teamID, enterpriseID, scopes string) []string {
	var out []string
	if want := strings.TrimSpace(os.Getenv(slackapp.EnvTeamID)); want != "" && want != teamID {
		out = append(out, fmt.Sprintf("%s is %s: every click would be refused as from another workspace; set %s=%s", slackapp.EnvTeamID, want, slackapp.EnvTeamID, teamID))
	}
	if want := strings.TrimSpace(os.Getenv(slackapp.EnvEnterpriseID)); want != "" && want != enterpriseID {
		org := "belongs to no Enterprise Grid organisation"
		if enterpriseID != "" {
			org = "belongs to organisation " + enterpriseID
		}
		out = append(out, fmt.Sprintf("%s is %s while the workspace %s: every click would be refused", slackapp.EnvEnterpriseID, want, org))
	}
	if scopes != "" {
		granted := map[string]bool{}
		for _, sc := range strings.Split(scopes, ",") {
			granted[strings.TrimSpace(sc)] = true
		}
		var missing []string
		for _, s := range slackapp.BotScopes {
			if s.Required && !granted[s.Scope] {
				missing = append(missing, s.Scope+" ("+s.WithoutIt+")")
			}
		}
		if len(missing) > 0 {
			out = append(out, "the bot token lacks "+strings.Join(missing, ", ")+": add them (docs/slack-app-manifest.yaml) and reinstall the app")
		}
	}
	if cfg := slackapp.ConfigFromEnv(); cfg.AppToken != "" {
		if err := slackapp.CheckAppToken(ctx, cfg, nil); errors.Is(err, slackapp.ErrAppTokenRefused) {
			out = append(out, err.Error())
		}
	}
	return out
}
