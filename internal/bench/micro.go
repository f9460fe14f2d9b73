package bench

import (
	"bytes"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/conditions"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// Micro benchmarks. Each is a func(*testing.B): `riposte bench` runs them
// in process with testing.Benchmark, and bench_test.go exposes them to
// `go test -bench`. They use the shipped catalog and real detections.

// microDetection is the decoded reference detection.
func microDetection(b testing.TB) intake.Detection {
	dets, err := intake.Decode(bytes.NewReader(detectionBody(referenceProduct, "micro-1", 0)), intake.DecodeOptions{})
	if err != nil || len(dets) != 1 {
		b.Fatalf("decoding the bench detection: %v", err)
	}
	return dets[0]
}

// BenchConditionEval evaluates a typical trigger condition against a
// detection (env built once, as the dispatcher does per detection).
func BenchConditionEval(b *testing.B) {
	p, err := conditions.Compile(`detection.severity_id >= 4 && (detection.confidence_score ?? 0) >= 80`, conditions.ScopeTrigger, true)
	if err != nil {
		b.Fatal(err)
	}
	env := (&conditions.Env{Detection: microDetection(b)}).Map()
	b.ReportAllocs()
	defer reportCPU(b, procCPU())
	for b.Loop() {
		if ok, err := p.EvalBool(env); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchStepCondition evaluates a step's `if:` on an upstream step's
// output, building the expression env each time as the interpreter does.
func BenchStepCondition(b *testing.B) {
	p, err := conditions.Compile(`steps.enrich.output.malicious > 0`, conditions.ScopeStep, true)
	if err != nil {
		b.Fatal(err)
	}
	e := &conditions.Env{
		Detection: microDetection(b),
		Vars:      map[string]any{},
		Steps: map[string]any{"enrich": map[string]any{"status": "succeeded", "error": nil,
			"output": map[string]any{"found": true, "malicious": 11.0, "suspicious": 2.0, "link": "https://www.virustotal.com/gui/ip-address/203.0.113.77"}}},
		Playbook: map[string]any{"name": ReferencePlaybook, "version": 1},
		Run:      map[string]any{"id": "bench-reference:x", "run_id": "r", "dry_run": false},
	}
	b.ReportAllocs()
	defer reportCPU(b, procCPU())
	for b.Loop() {
		if ok, err := p.EvalBool(e.Map()); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchRender renders a step's `with` holding three ${{ }} placeholders.
func BenchRender(b *testing.B) {
	v, errs := conditions.CompileValue(map[string]any{
		"summary":  "C2 beaconing from ${{ detection.device.hostname }} (${{ detection.finding_info.uid }})",
		"source":   "${{ detection.device.hostname }}",
		"severity": "critical",
	}, conditions.ScopeStep)
	if errs != nil {
		b.Fatal(errs)
	}
	env := (&conditions.Env{Detection: microDetection(b)}).Map()
	b.ReportAllocs()
	defer reportCPU(b, procCPU())
	for b.Loop() {
		if _, err := v.Render(env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchDetectionValidate checks one decoded detection against the
// detection contract (JSON Schema), as POST /v1/detections does.
func BenchDetectionValidate(b *testing.B) {
	v, err := intake.NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	dets := []intake.Detection{microDetection(b)}
	b.ReportAllocs()
	defer reportCPU(b, procCPU())
	for b.Loop() {
		if errs := v.Validate(dets); errs != nil {
			b.Fatal(errs)
		}
	}
}

// BenchDetectionIntake decodes and validates one detection body: the
// whole intake check of POST /v1/detections before dispatch.
func BenchDetectionIntake(b *testing.B) {
	v, err := intake.NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	body := detectionBody(referenceProduct, "micro-1", 0)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	defer reportCPU(b, procCPU())
	for b.Loop() {
		dets, err := intake.Decode(bytes.NewReader(body), intake.DecodeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if errs := v.Validate(dets); errs != nil {
			b.Fatal(errs)
		}
	}
}

// BenchPlaybookValidate parses and validates one realistic ten-step
// playbook per op.
func BenchPlaybookValidate(b *testing.B) {
	cat := activities.Catalog()
	src := microPlaybook(1)
	b.ReportAllocs()
	defer reportCPU(b, procCPU())
	for b.Loop() {
		if _, diags := playbook.LoadBytes("bench.yaml", src, cat); diags != nil {
			b.Fatal(diags)
		}
	}
}

// benchPlaybooks returns a benchmark that parses and validates n distinct
// playbooks per op (n = 1000 for the target).
func benchPlaybooks(n int) func(*testing.B) {
	return func(b *testing.B) {
		cat := activities.Catalog()
		srcs := make([][]byte, n)
		for i := range srcs {
			srcs[i] = microPlaybook(i + 1)
		}
		b.ReportAllocs()
		defer reportCPU(b, procCPU())
		for b.Loop() {
			validateAll(b, cat, srcs)
		}
	}
}

func validateAll(b testing.TB, cat *catalog.Catalog, srcs [][]byte) {
	for i, s := range srcs {
		if _, diags := playbook.LoadBytes(fmt.Sprintf("pb%d.yaml", i), s, cat); diags != nil {
			b.Fatal(diags)
		}
	}
}

// microPlaybook is a realistic ten-step playbook on shipped actions; n
// makes each copy distinct (name, thresholds, literals).
func microPlaybook(n int) []byte {
	return fmt.Appendf(nil, `apiVersion: riposte/v1
name: bench-%[1]d
version: %[1]d
description: Contain a host that beacons to a known-bad address.
owner: secops
trigger:
  when: detection.severity_id >= 4 && (detection.confidence_score ?? 0) >= %[2]d
vars:
  host: detection.device?.hostname ?? ""
  ip: detection.dst_endpoint?.ip ?? ""
  user: detection.actor?.user?.email_addr ?? ""
  is_prod: glob("*-prod-*", vars.host)
  techniques: attack_ids(detection)
steps:
  - id: enrich_ip
    action: virustotal.ip_report
    with: {ip: "${{ vars.ip }}"}
    timeout: 30s
    retry: {max_attempts: 5, initial_interval: 2s}
  - id: enrich_abuse
    action: core.noop
    with: {ip: "${{ vars.ip }}", n: %[1]d}
  - id: log_start
    action: core.log
    needs: [enrich_ip, enrich_abuse]
    with:
      message: "Starting on ${{ vars.host }} (${{ vars.ip }}): ${{ detection.finding_info.title }}"
      level: info
  - id: decide
    action: core.noop
    needs: [enrich_ip]
    if: steps.enrich_ip.output.malicious > %[3]d && !cidr_contains("10.99.0.0/16", vars.ip)
  - id: contain
    action: crowdstrike.contain_host
    needs: [decide, log_start]
    if: steps.decide.status == "succeeded"
    with:
      hostname: ${{ vars.host }}
    approval:
      if: vars.is_prod
      approvers: {users: [U1, U2], groups: [S1]}
      quorum: 2
      timeout: 30m
      on_timeout: escalate
      escalate_to: {users: [U3], timeout: 1h}
  - id: end_sessions
    action: okta.clear_user_sessions
    needs: [contain]
    if: vars.user != "" && steps.contain.status == "succeeded"
    with: {user: "${{ vars.user }}"}
    approval: auto
    on_failure: continue
  - id: ticket
    action: jira.create_issue
    needs: [contain, end_sessions]
    if: "true"
    with:
      summary: "[riposte] ${{ detection.finding_info.title }} on ${{ vars.host }}"
      description: "Techniques: ${{ vars.techniques }}; containment: ${{ steps.contain.status }}"
      labels: [riposte, bench-%[1]d]
  - id: page
    action: pagerduty.trigger
    needs: [ticket]
    if: steps.contain.status == "succeeded"
    with:
      summary: "Host ${{ vars.host }} contained; ticket ${{ steps.ticket.output.key }}"
      source: ${{ vars.host }}
      severity: critical
  - id: note
    action: core.log
    needs: [page]
    with: {message: "paged for ${{ vars.host }}: ${{ steps.page.status }}", level: warn}
    on_failure: continue
  - id: done
    action: core.noop
    needs: [note, ticket]
    with:
      host: ${{ vars.host }}
      ticket: ${{ steps.ticket.output?.key ?? "" }}
outputs:
  contained: steps.contain.status == "succeeded"
  host: vars.host
`, n, 50+n%50, n%5)
}

// procCPU is this process's CPU time so far (all threads).
func procCPU() time.Duration { return markCPU().proc }

// reportCPU adds the process CPU time per op since start: on a shared
// machine it is steadier than wall time (another tenant's load stretches
// wall time, not CPU time). GC work is included.
func reportCPU(b *testing.B, start time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64((procCPU()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// microResult is one micro benchmark's result.
type microResult struct {
	Name        string
	What        string
	NsPerOp     float64
	CPUNsPerOp  float64 // process CPU time per op
	AllocsPerOp int64
	BytesPerOp  int64
	N           int
	// PerOp scales the op to the reported unit (e.g. 10 for "per 1,000"
	// when an op validated 100 playbooks in smoke mode).
	Scale float64
	Unit  string
}

// cpu is the CPU time per op, or the wall time when it was not measured.
func (m microResult) cpu() float64 {
	if m.CPUNsPerOp > 0 {
		return m.CPUNsPerOp
	}
	return m.NsPerOp
}

// micro is one benchmark of the list.
type micro struct {
	name, what string
	fn         func(*testing.B)
	scale      float64
	unit       string
}

func micros(playbooks int) []micro {
	return []micro{
		{"condition_eval", "trigger condition, env built once", BenchConditionEval, 1, "ns"},
		{"step_condition_eval", "step `if:` on an upstream output, env built per evaluation", BenchStepCondition, 1, "ns"},
		{"render_with", "`with` holding three `${{ }}`", BenchRender, 1, "ns"},
		{"detection_validate", "schema validation of one detection", BenchDetectionValidate, 1, "ns"},
		{"detection_intake", "decode + schema validation of one detection body", BenchDetectionIntake, 1, "ns"},
		{"playbook_validate", "parse + validate one ten-step playbook", BenchPlaybookValidate, 1, "ns"},
		{fmt.Sprintf("playbooks_validate_%d", playbooks), fmt.Sprintf("parse + validate %d distinct ten-step playbooks", playbooks),
			benchPlaybooks(playbooks), 1000 / float64(playbooks), "ms per 1,000 playbooks"},
	}
}

// runMicros runs every micro benchmark with testing.Benchmark for about
// benchtime each.
func runMicros(benchtime time.Duration, playbooks int, logf func(string, ...any)) []microResult {
	testing.Init()
	if f := flag.Lookup("test.benchtime"); f != nil {
		_ = f.Value.Set(benchtime.String())
	}
	var out []microResult
	for _, m := range micros(playbooks) {
		r := testing.Benchmark(m.fn)
		res := microResult{Name: m.name, What: m.what, N: r.N, Scale: m.scale, Unit: m.unit}
		if r.N > 0 {
			res.NsPerOp = float64(r.T.Nanoseconds()) / float64(r.N)
			res.AllocsPerOp = r.AllocsPerOp()
			res.BytesPerOp = r.AllocedBytesPerOp()
			res.CPUNsPerOp = r.Extra["cpu-ns/op"]
		}
		logf("micro %-28s %12.0f ns/op %12.0f cpu-ns/op %8d allocs/op", m.name, res.NsPerOp, res.CPUNsPerOp, res.AllocsPerOp)
		out = append(out, res)
	}
	return out
}
