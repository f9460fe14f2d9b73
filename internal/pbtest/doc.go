// Package pbtest runs playbook tests: "playbooks as tested code".
//
// A test file NAME.test.yaml sits beside the playbook NAME.yaml it tests.
// Each of its cases sends one detection through the real playbook
// interpreter (workflows.Interpreter, registered as in production) inside
// Temporal's in-memory test environment, then compares the run with what
// the case expects. `riposte test` is the command line; Runner is the API.
//
// # What runs, and what is faked
//
//   - Time is virtual: approval timeouts, escalations and retry backoffs
//     take no wall time. Every case gets a fresh environment.
//   - Every action of the catalog is registered as a fake activity that
//     records the call (params as rendered, attempt, idempotency key) and
//     answers with the case's stub for the step. Unstubbed steps get the
//     action's default answer: core.noop, core.log and core.fail run their
//     real, in-process implementation (noop echoes its params, fail fails);
//     every other action (core.sleep too: it answers at once) answers with
//     activities.Simulate, the output the worker synthesises in a dry run.
//     No request ever leaves the process.
//   - As on a worker, in a dry run (dry_run: true) or for a playbook in
//     shadow mode, notify and contain actions are simulated and every gate
//     is approved automatically.
//   - Approval gates are opened by a fake of the approval-request activity
//     that resolves approvers as Slack would: the gate's users plus the
//     members of its user groups, taken from the file's groups:. When a
//     gate opens, the case's scripted votes for it are delivered as
//     Temporal Updates (workflows.UpdateDecide, Via "test"), so they go
//     through the same validator as a click in Slack or `riposte approve`.
//   - The trigger is evaluated first, as the dispatcher does: a case whose
//     detection does not match trigger.when fails, unless it expects
//     triggered: false. A detection whose finding.state is not active
//     (withdrawn, or a passing compliance result) starts nothing, as in
//     the dispatcher, whatever trigger.when says. The workflow id is derived from the detection and
//     the playbook as the dispatcher derives it. The finding view is
//     built with the site's detections: settings (Runner.Finding; riposte
//     test reads them from riposte.yaml), as the dispatcher builds it.
//
// # Format
//
//	playbook: contain-credential-theft   # optional, see below
//	groups:                              # optional: user-group members
//	  S0614TZR7: [U1, U2]
//	approval_defaults:                   # optional: the site's defaults (riposte.yaml),
//	  users: [U9]                        # for gates that name no approvers
//	  groups: [S0614TZR7]
//	  timeout: 30m
//	cases:
//	  - name: isolates a high-confidence workstation   # required, unique in the file
//	    detection: ../../examples/credential-dumping.json
//	    patch: {confidence_score: 95, device: {hostname: web-prod-01}}
//	    requester: U9
//	    dry_run: false
//	    stubs: {...}
//	    approvals: {...}
//	    expect: {...}                                  # required
//
// playbook: a playbook name (looked up among the playbooks in the test
// file's directory) or a path ending in .yaml/.yml, relative to the test
// file. Default: the sibling NAME.yaml of NAME.test.yaml.
//
// detection (required): a file, relative to the test file, holding a JSON
// object, a JSON array (its first element is used) or NDJSON (its first
// line); or an inline mapping. It is decoded like the HTTP API decodes
// detections (integral numbers are integers); a vendor alert in a file
// (CrowdStrike, Microsoft Graph, Elastic Security, Suricata EVE) is
// converted to OCSF as the API does when no format is given, so a case can
// use a producer's own sample.
//
// patch: deep-merged onto the detection: mappings merge key by key, a null
// deletes the key, anything else replaces. The result must meet the
// detection contract (intake.Validator), as it would at the API.
//
// requester: who submitted the detection; they may not approve its gates.
//
// dry_run: run as `riposte submit --dry-run` does.
//
// # Stubs
//
// stubs maps step ids to the answer of the step's action:
//
//	stubs:
//	  lookup: {output: {device_id: abc}}              # the action's output (a mapping)
//	  isolate: {error: "EDR unreachable"}             # fails; retryable: false by default
//	  flaky:                                          # one answer per attempt;
//	    attempts:                                     # later attempts get the last one
//	      - {error: "503", retryable: true}
//	      - {output: {ok: true}}
//	  block:                                          # one answer per for_each item (by index);
//	    items:                                        # items past the end get the default answer
//	      - {output: {blocked: true}}
//	      - {error: "already blocked"}
//	      - {attempts: [{error: "503", retryable: true}, {output: {}}]}
//
// A retryable error is retried by Temporal under the step's retry policy
// (in virtual time); a non-retryable one fails the step at once. Output
// keys must be outputs the action declares in the catalog (core.noop
// accepts any), so stubs cannot drift from what the real action returns.
// As the worker does, a contain action's stub answering already: true on
// the step's first attempt gets preexisting: true in its output: the
// containment was in place before the step (catalog.OutputPreexisting).
//
// # Approvals
//
// approvals maps the id of a gated step (one with an approval block, or a
// contain action) to the people who decide its gate:
//
//	approvals:
//	  isolate: {approve: [U1, U2], reason: confirmed}   # approvals, in order
//	  disable_user: {deny: U2, reason: "VIP, call first"}
//	  page: {timeout: true}              # nobody answers: on_timeout applies
//	  escalating: {approve: UBOSS, after: 75m}          # cast 75m after the gate opened
//	  four_eyes:
//	    votes:                           # explicit order, a reason per vote
//	      - {approve: U9, refused: "cannot approve"}    # must be refused by the gate
//	      - {approve: U1}
//	      - {deny: U2, reason: too risky}
//
// The first vote is cast `after` (default 1s) the gate opens, then one a
// second, each as a Temporal Update. Shorthand approve/deny cast the
// approvals first, then the denials, all with `reason`. Every vote must be
// accepted by the gate's rules (approver list, requester, one vote per
// person, reason policy, gate still open), unless it says `refused:` with a
// substring of the expected refusal. A case fails when a scripted vote is
// refused, never cast (the run ended first), or scripted for a gate that
// never opened, and when a gate opens that the case has no approvals entry
// for ("gate on step X is still waiting: add approvals.X"). approvals do
// not apply in a dry run or in shadow mode, where gates approve themselves.
//
// # Expectations
//
// Every key is optional; only what is written is checked. An expectation
// that checks nothing (expect: {}, an empty steps, outputs or params mapping) is
// refused, since it would pass whatever the run did.
//
//	expect:
//	  triggered: false              # trigger.when must be false (nothing runs; say nothing else)
//	  status: succeeded             # the run: succeeded | failed
//	  error: "step isolate denied"  # substring of the run's error
//	  steps:
//	    lookup: succeeded           # shorthand for {status: succeeded}
//	    isolate:
//	      status: succeeded         # succeeded | failed | skipped | denied | timed_out
//	      reason: "approval denied" # substring of why it was skipped, denied or timed out
//	      error: "unreachable"      # substring of its error
//	      params: {hostname: fin-ws-042}   # subset match of the rendered `with`
//	      output: {device_id: abc}  # subset match of the output
//	      attempts: 2               # calls of the action (all items together)
//	      gate: {state: approved, approvers: [U1, U2, U3], by: U2, escalated: false}
//	    notify: {gate: none}        # the step had no gate
//	    block:
//	      items:                    # for_each iterations, one entry per item
//	        - succeeded
//	        - {status: failed, error: "already blocked", params: {ip: 203.0.113.7}, output: {}, attempts: 1}
//	  ran: [lookup, isolate]        # exactly the steps whose action was called, in any order
//	  outputs: {isolated: true}     # subset match of the run's outputs
//
// Subset match: every key of an expected mapping must be present and
// match (other keys are ignored); lists match item by item and must have
// the same length; numbers compare by value (1 == 1.0; whole numbers
// exactly, fractions within floating point error: 0.1+0.2 matches 0.3);
// null matches null.
// gate.state is approved, denied or timed_out; gate.by is who closed the
// gate ("riposte" for a timeout or a dry run); gate.approvers is the
// resolved set, in any order.
//
// # Errors and results
//
// Test files are decoded strictly. An unknown key (with a did-you-mean),
// a wrong type, a missing detection, a detection that breaks the contract,
// a step id the playbook does not have, a stub whose output the action
// does not declare, more stubbed attempts than the retry policy makes,
// approvals for a step that never has a gate, an output the playbook does
// not declare: each is a file:line:col diagnostic, all reported before
// anything runs. A playbook that does not validate fails its test file
// with its own diagnostics.
//
// A failing case reports one line per mismatch, in the order written:
//
//	--- FAIL: contain-credential-theft/denied by the on-call (0.02s)
//	    step isolate: status: want "succeeded", got "denied" (reason: approval denied by U2: VIP, call first)
//	    outputs.isolated: want true, got false
//
// Steps that run in parallel finish in no fixed order in the test
// environment, as in production: expect only what the playbook makes
// deterministic (e.g. do not expect a step to be cancelled by a sibling's
// failure unless it needs that sibling).
package pbtest
