package cli

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/lab"
	"github.com/riposte-dev/riposte/workflows"
)

// TestAWSActionsWithUndoOnEmbeddedServer runs the AWS actions from a
// playbook in riposte dev (embedded Temporal server, lab AWS fake through
// the real SDK), then rolls the run back and checks every change undone.
func TestAWSActionsWithUndoOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	h := startDevForTest(t, t.TempDir(), func(o *devOptions) {
		o.Playbooks, _ = filepath.Abs("testdata/aws-playbooks")
	})
	defer h.sys.Close()
	l := h.sys.Lab
	before := l.AWSInstanceGroups(lab.AWSInstance)

	code, r := h.submit(fmt.Sprintf(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"aws-1"},"metadata":{"product":{"name":"GuardDuty"}},`+
		`"unmapped":{"aws_e2e":true,"instance_id":%q,"access_key_id":%q,"user_name":%q,"role_name":%q}}`, lab.AWSInstance, lab.AWSUserKey, lab.AWSUser, lab.AWSRole))
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-aws")
	if d := h.waitRun(wid, 2*time.Minute); d.Status != workflows.RunSucceeded {
		t.Fatalf("run: %+v", d)
	}
	for eni, gs := range l.AWSInstanceGroups(lab.AWSInstance) {
		if len(gs) != 1 || gs[0] != lab.AWSQuarantineGroup {
			t.Errorf("%s not isolated: %v", eni, gs)
		}
	}
	if l.AWSKeyStatus(lab.AWSUserKey) != "Inactive" {
		t.Errorf("key %s", l.AWSKeyStatus(lab.AWSUserKey))
	}
	if _, ok := l.AWSRolePolicies(lab.AWSRole)["RiposteRevokeOlderSessions"]; !ok {
		t.Errorf("role policies %v", l.AWSRolePolicies(lab.AWSRole))
	}
	if n := l.AWSSnapshots(lab.AWSInstance); n != 2 {
		t.Errorf("snapshots = %d, want 2", n)
	}

	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("USOC"), `{"user":"USOC"}`)
	if code != 202 {
		t.Fatalf("rollback: %d %s", code, b)
	}
	if rb := h.waitRun("rollback:"+wid, 2*time.Minute); rb.Temporal != "completed" {
		t.Fatalf("rollback run: %+v", rb)
	}
	after := l.AWSInstanceGroups(lab.AWSInstance)
	for eni, gs := range before {
		if strings.Join(after[eni], ",") != strings.Join(gs, ",") {
			t.Errorf("%s after rollback: %v, want %v", eni, after[eni], gs)
		}
	}
	if l.AWSKeyStatus(lab.AWSUserKey) != "Active" {
		t.Errorf("key after rollback: %s", l.AWSKeyStatus(lab.AWSUserKey))
	}
	if pol := l.AWSRolePolicies(lab.AWSRole); len(pol) != 0 {
		t.Errorf("role policies after rollback: %v", pol)
	}
	if n := l.AWSSnapshots(lab.AWSInstance); n != 2 {
		t.Errorf("snapshots after rollback = %d (evidence is kept)", n)
	}
}
