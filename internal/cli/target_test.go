package cli

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// The Slack request names what a gate would act on ("hostname:
// siem-linux-release-sec-bis"), and README says `riposte approve` decides a
// gate with the same checks as a Slack click; but riposte approvals, the
// CLI approver's list, named only the action (crowdstrike.contain_host),
// and riposte runs show printed no step's parameters, so a CLI approver
// decided without seeing which host, user or IP, and `runs show
// rollback:RUN` did not say which host a rollback released.

func TestApprovalsNameTheTarget(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"approvals":[{"workflow_id":"endpoint-threat:elastic-security.abcdef123.x","gate":{"id":"isolate","step_id":"isolate","state":"pending","quorum":1,`+
			`"action":"crowdstrike.contain_host","params":{"hostname":"siem-linux-release-sec-bis"},"why":"the step has an approval block","expires_at":"2099-01-01T00:00:00Z"}}]}`)
	}))
	defer srv.Close()
	code, out, errOut := runCLI(t, "approvals", "--api", srv.URL, "--token", "rpt_test")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "hostname=siem-linux-release-sec-bis") {
		t.Errorf("riposte approvals does not say which host the gate would contain:\n%s", out)
	}
}

func TestRunsShowNamesEachStepsTarget(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    *api.RunDetail
		want string
	}{
		{"waiting gate", &api.RunDetail{Steps: []workflows.StepResult{{ID: "isolate", Action: "crowdstrike.contain_host", Status: "waiting_approval",
			Params: map[string]any{"hostname": "siem-linux-release-sec-bis"},
			Gate:   &workflows.Gate{State: workflows.GatePending, Quorum: 1}}}}, "hostname=siem-linux-release-sec-bis"},
		{"rollback run", &api.RunDetail{RunSummary: api.RunSummary{Kind: api.KindRollback, RollbackOf: "r1", RequestedBy: "U0SOCLEAD1"},
			Steps: []workflows.StepResult{{ID: "isolate.rollback", Action: "crowdstrike.lift_containment", Status: "succeeded",
				Params: map[string]any{"hostname": "fin-ws-042"}}}}, "hostname=fin-ws-042"},
	} {
		var b bytes.Buffer
		printRun(&b, tc.d)
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("%s: runs show does not name the step's target %q:\n%s", tc.name, tc.want, b.String())
		}
	}
}

// riposte runs show named the detection only by its uid (an opaque
// "92012896127c4a8236ba7601b886b0:ind:2ce4…" for a CrowdStrike alert),
// never by its title, which the Slack request and the Temporal UI lead
// with: the title is in the run's finding view.
func TestRunsShowNamesTheDetectionTitle(t *testing.T) {
	d := &api.RunDetail{RunSummary: api.RunSummary{Kind: api.KindPlaybook, DetectionID: "874694c2ff8c43fdb64ef3056ddfb96d:ind:4446934rf3fdb64ec3056ddfb96e"},
		Finding: map[string]any{"severity": "High", "state": "active", "title": "Identity verification denied"}}
	var b bytes.Buffer
	printRun(&b, d)
	if !strings.Contains(b.String(), "title:     Identity verification denied\n") {
		t.Errorf("runs show does not name the detection's title:\n%s", b.String())
	}
}

// TestApprovalsTargetSurvivesOtherParams: riposte approvals cut the whole
// key=value line to 80 characters with the keys sorted, so a parameter
// sorting before the target pushed it out of the TARGET column. The
// shipped ransomware-behaviour isolate step's comment ("Riposte:
// ransomware behaviour <finding uid>") with a CrowdStrike uid left no
// hostname at all: the CLI approver saw what the comment said, not which
// host. And a value was printed as it is, so detection text in a comment
// (", hostname=decoy") read as a parameter of its own. The target params
// come first, and a value that holds the separators is quoted.
func TestApprovalsTargetSurvivesOtherParams(t *testing.T) {
	for _, tc := range []struct {
		name    string
		params  string
		want    string
		notWant string
	}{
		{"long comment", `{"comment":"Riposte: ransomware behaviour 874694c2ff8c43fdb64ef3056ddfb96d:ind:4446934rf3fdb64ec3056ddfb96e","hostname":"web-prod-01","isolation_type":"Full"}`,
			"hostname=web-prod-01", ""},
		{"comment naming another host", `{"comment":"Riposte: x, hostname=decoy-ws-01","hostname":"web-prod-01"}`,
			`hostname=web-prod-01, comment="Riposte: x, hostname=decoy-ws-01"`, "comment=Riposte: x, hostname=decoy-ws-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"approvals":[{"workflow_id":"ransomware-behaviour:x","gate":{"id":"isolate","step_id":"isolate","state":"pending","quorum":2,`+
					`"action":"defender.isolate_machine","params":`+tc.params+`,"why":"production","expires_at":"2099-01-01T00:00:00Z"}}]}`)
			}))
			defer srv.Close()
			code, out, errOut := runCLI(t, "approvals", "--api", srv.URL, "--token", "rpt_test")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("TARGET does not name %q:\n%s", tc.want, out)
			}
			if tc.notWant != "" && strings.Contains(out, tc.notWant) {
				t.Errorf("TARGET reads the comment's text %q as a parameter:\n%s", tc.notWant, out)
			}
		})
	}
}
