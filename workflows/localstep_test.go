package workflows_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/workflows"
)

// The rule of the execution model: contain steps, actions that need
// progress in heartbeat details and long steps are regular activities;
// short read, notify and core steps are local.
func TestLocalStepRule(t *testing.T) {
	c := compileYAML(t, `apiVersion: riposte/v1
name: rule
version: 1
trigger:
  when: "true"
steps:
  - id: read
    action: virustotal.ip_report
    with: {ip: 203.0.113.1}
  - id: core
    action: core.noop
  - id: page
    action: pagerduty.trigger
    with: {summary: s, source: h, severity: critical}
  - id: contain
    action: crowdstrike.contain_host
    with: {hostname: h}
    approval: auto
  - id: ticket
    action: jira.create_issue
    with: {summary: s}
  - id: slack
    action: slack.post_message
    with: {channel: C1, text: t}
  - id: long_read
    action: virustotal.ip_report
    with: {ip: 203.0.113.1}
    timeout: 5m
  - id: short_read
    action: virustotal.ip_report
    with: {ip: 203.0.113.1}
    timeout: 30s
  - id: minute_read
    action: virustotal.ip_report
    with: {ip: 203.0.113.1}
    timeout: 1m
  - id: over_a_minute
    action: virustotal.ip_report
    with: {ip: 203.0.113.1}
    timeout: 61s
`)
	// README: "with no timeout: or one ≤ 1 min", 1 min per attempt when unset.
	want := map[string]bool{"read": true, "core": true, "page": true, "contain": false, "ticket": false, "slack": false, "long_read": false, "short_read": true,
		"minute_read": true, "over_a_minute": false}
	if workflows.LocalStepTimeout != time.Minute {
		t.Errorf("a local step's default timeout is %v, README says 1 min", workflows.LocalStepTimeout)
	}
	for _, rev := range []int{workflows.RevByReference, workflows.RevLocalRecoverable} {
		// From RevLocalRecoverable on, an action whose progress only
		// shortens a retry (jira) is local; slack still needs its progress.
		want["ticket"] = rev >= workflows.RevLocalRecoverable
		for _, s := range c.Steps {
			if got := workflows.LocalStep(s, rev); got != want[s.ID] {
				t.Errorf("rev %d, step %s (%s): local %v, want %v", rev, s.ID, s.Step.Action, got, want[s.ID])
			}
		}
	}
}

// Recorded runs of the current model: short steps are local activity
// markers, each with the step's summary (the UI's label), containment is
// still an activity task.
func TestLocalStepsInRecordedHistory(t *testing.T) {
	files, _ := filepath.Glob("testdata/histories/local-*.json")
	if len(files) == 0 {
		t.Fatal("no recorded histories of the local-step model (go test ./test/e2e -run TestRecordHistories -record -record-prefix local-)")
	}
	var markers, activities int
	for _, f := range files {
		for _, ev := range recordedEvents(t, f) {
			if m := ev.GetMarkerRecordedEventAttributes(); m != nil && m.GetMarkerName() == "LocalActivity" {
				markers++
				if ev.GetUserMetadata().GetSummary() == nil {
					t.Errorf("%s: local activity marker %d has no summary", filepath.Base(f), ev.GetEventId())
				}
			}
			if ev.GetActivityTaskScheduledEventAttributes() != nil {
				activities++
			}
		}
	}
	if markers == 0 {
		t.Error("no local activity in the recorded runs")
	}
	t.Logf("%d local activity markers, %d activity tasks", markers, activities)
}

// The same chaos-contain run recorded before and from RevLocalRecoverable:
// the Jira ticket is an activity task in the first, a local activity
// marker in the second; the containment stays an activity task in both.
// From RevGuardInCall the guardrail check's marker is gone too, and from
// RevCheckedActivity the containment runs as its checked activity type;
// from RevRunAhead the notification after the ticket shares its marker.
func TestTicketLocalFromRevLocalRecoverable(t *testing.T) {
	count := func(file string) (markers int, acts []string) {
		for _, ev := range recordedEvents(t, filepath.Join("testdata/histories", file)) {
			if m := ev.GetMarkerRecordedEventAttributes(); m != nil && m.GetMarkerName() == "LocalActivity" {
				markers++
			}
			if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
				acts = append(acts, a.GetActivityType().GetName())
			}
		}
		return markers, acts
	}
	m2, a2 := count("rev2-chaos-ticket.json")
	m3, a3 := count("rev3-chaos-ticket.json")
	if strings.Join(a2, ",") != "panos.block_ip,jira.create_issue" || strings.Join(a3, ",") != "panos.block_ip" || m3 != m2+1 {
		t.Errorf("rev 2: %d markers, activities %v; rev 3: %d markers, activities %v", m2, a2, m3, a3)
	}
	// Revision 4 checks the guardrails inside the containment's activity:
	// the same activities, one marker fewer.
	m4, a4 := count("rev4-chaos-ticket.json")
	if strings.Join(a4, ",") != "panos.block_ip" || m4 != m3-1 {
		t.Errorf("rev 3: %d markers, activities %v; rev 4: %d markers, activities %v", m3, a3, m4, a4)
	}
	// Revision 5 schedules that checked call under its own activity type.
	m5, a5 := count("rev5-chaos-ticket.json")
	if strings.Join(a5, ",") != "panos.block_ip+guardrails" || m5 != m4 {
		t.Errorf("rev 4: %d markers, activities %v; rev 5: %d markers, activities %v", m4, a4, m5, a5)
	}
	// Revision 6 runs the ticket after the settle step in that step's
	// local call (RevRunAhead): one marker fewer.
	m6, a6 := count("s13-chaos-ticket.json")
	if strings.Join(a6, ",") != "panos.block_ip+guardrails" || m6 != m5-1 {
		t.Errorf("rev 5: %d markers, activities %v; rev 6: %d markers, activities %v", m5, a5, m6, a6)
	}
	// Its marker's summary, the UI's label, names both steps.
	dc := codec.NewDataConverter(replayKeys(t))
	var summaries []string
	for _, ev := range recordedEvents(t, "testdata/histories/s13-chaos-ticket.json") {
		if m := ev.GetMarkerRecordedEventAttributes(); m != nil && m.GetMarkerName() == "LocalActivity" {
			var s string
			if err := dc.FromPayload(ev.GetUserMetadata().GetSummary(), &s); err != nil {
				t.Fatal(err)
			}
			summaries = append(summaries, s)
		}
	}
	if !slices.Contains(summaries, "settle, then ticket") {
		t.Errorf("marker summaries %q: want one for the settle step and the ticket after it", summaries)
	}
}

// recordedHistory reads a recorded history.
func recordedHistory(t *testing.T, path string) *historypb.History {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := client.HistoryFromJSON(bytes.NewReader(b), client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// recordedEvents reads the events of a recorded history.
func recordedEvents(t *testing.T, path string) []*historypb.HistoryEvent {
	t.Helper()
	return recordedHistory(t, path).GetEvents()
}
