package playbook_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// benchPlaybook is a realistic ten-step playbook; n makes each copy distinct.
func benchPlaybook(n int) []byte {
	return fmt.Appendf(nil, `apiVersion: riposte/v1
name: bench-%[1]d
version: %[1]d
description: Contain a host that dumped credentials.
owner: secops
trigger:
  when: detection.severity_id >= 4 && detection.confidence_score >= %[2]d
vars:
  host: detection.device.hostname
  ip: detection.device.ip
  is_prod: glob("*.prod.example.com", vars.host)
  techniques: attack_ids(detection)
steps:
  - id: enrich_ip
    action: intel.lookup_ip
    with: {ip: "${{ vars.ip }}"}
    timeout: 30s
    retry: {max_attempts: 5, initial_interval: 2s}
  - id: enrich_host
    action: core.noop
    with: {host: "${{ vars.host }}", n: %[1]d}
  - id: log_start
    action: core.log
    needs: [enrich_ip, enrich_host]
    with:
      message: "Starting on ${{ vars.host }} (${{ vars.ip }}): ${{ detection.finding_info.title }}"
      level: info
  - id: decide
    action: core.noop
    needs: [enrich_ip]
    if: steps.enrich_ip.status == "succeeded" && !cidr_contains("10.99.0.0/16", vars.ip)
  - id: contain
    action: edr.contain_host
    needs: [decide, log_start]
    if: steps.decide.status == "succeeded"
    with:
      hostname: ${{ vars.host }}
      priority: 2
      ports: [22, 443]
    contain_for: 4h
    approval:
      if: vars.is_prod
      approvers: {users: [U1, U2], groups: [S1]}
      quorum: 2
      timeout: 30m
      on_timeout: escalate
      escalate_to: {users: [U3], timeout: 1h}
  - id: sweep
    action: edr.contain_host
    needs: [contain]
    for_each: ${{ detection.related_hosts ?? [] }}
    concurrency: 2
    with: {hostname: "${{ item.hostname }}", note: "sweep ${{ index }}"}
    approval: auto
  - id: notify
    action: core.log
    needs: [contain]
    with: {message: "contained ${{ vars.host }}: ${{ steps.contain.status }}", level: warn}
    on_failure: continue
  - id: ticket
    action: core.noop
    needs: [notify, sweep]
    with:
      title: "[riposte] ${{ detection.finding_info.title }}"
      techniques: ${{ vars.techniques }}
      fields: {severity: "${{ detection.severity_id }}", host: "${{ vars.host }}"}
  - id: verify
    action: edr.status
    needs: [contain]
    timeout: 1m
  - id: done
    action: core.log
    needs: [ticket, verify]
    with: {message: "done: ${{ steps.verify.status }}"}
outputs:
  contained: steps.contain.status == "succeeded"
  host: vars.host
`, n, 50+n%50)
}

// BenchmarkParseValidate parses and compiles one realistic ten-step
// playbook per op; the 1000 sub-benchmark does 1,000 distinct ones per op
// (target: ≤ 1 s for 1,000).
func BenchmarkParseValidate(b *testing.B) {
	cat := testCatalog(b)
	src := benchPlaybook(1)
	if _, diags := playbook.LoadBytes("bench.yaml", src, cat); diags != nil {
		b.Fatal(diags)
	}
	b.Run("1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, diags := playbook.LoadBytes("bench.yaml", src, cat); diags != nil {
				b.Fatal(diags)
			}
		}
	})
	b.Run("1000", func(b *testing.B) {
		srcs := make([][]byte, 1000)
		for i := range srcs {
			srcs[i] = benchPlaybook(i + 1)
		}
		b.ReportAllocs()
		start, cpu := time.Now(), cpuTime()
		for b.Loop() {
			for i, s := range srcs {
				if _, diags := playbook.LoadBytes(fmt.Sprintf("pb%d.yaml", i), s, cat); diags != nil {
					b.Fatal(diags)
				}
			}
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/1000pb")
		// CPU time (all threads, GC included) is steadier than wall time on
		// a shared host.
		if c := cpuTime() - cpu; c > 0 {
			b.ReportMetric(float64(c.Milliseconds())/float64(b.N), "cpu-ms/1000pb")
		}
	})
}

func TestBenchPlaybookIsValid(t *testing.T) {
	src := benchPlaybook(7)
	c, diags := playbook.LoadBytes("bench.yaml", src, testCatalog(t))
	if diags != nil {
		t.Fatal(diags)
	}
	if len(c.Steps) != 10 || !strings.Contains(string(src), "bench-7") {
		t.Errorf("%d steps", len(c.Steps))
	}
}
