package e2e

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities/aws"

	"github.com/riposte-dev/riposte/internal/cli"
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
	h := startDevForTest(t, t.TempDir(), func(o *cli.DevOptions) {
		o.Playbooks, _ = filepath.Abs("testdata/aws-playbooks")
	})
	defer h.sys.Close()
	l := h.sys.Lab
	before := lab.Fake[*aws.Fake](l).InstanceGroups(aws.LabInstance)

	code, r := h.submit(fmt.Sprintf(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"aws-1"},"metadata":{"product":{"name":"GuardDuty"}},`+
		`"unmapped":{"aws_e2e":true,"instance_id":%q,"access_key_id":%q,"user_name":%q,"role_name":%q}}`, aws.LabInstance, aws.LabUserKey, aws.LabUser, aws.LabRole))
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-aws")
	if d := h.waitRun(wid, 2*time.Minute); d.Status != workflows.RunSucceeded {
		t.Fatalf("run: %+v", d)
	}
	for eni, gs := range lab.Fake[*aws.Fake](l).InstanceGroups(aws.LabInstance) {
		if len(gs) != 1 || gs[0] != aws.LabQuarantineGroup {
			t.Errorf("%s not isolated: %v", eni, gs)
		}
	}
	if lab.Fake[*aws.Fake](l).KeyStatus(aws.LabUserKey) != "Inactive" {
		t.Errorf("key %s", lab.Fake[*aws.Fake](l).KeyStatus(aws.LabUserKey))
	}
	if _, ok := lab.Fake[*aws.Fake](l).RolePolicies(aws.LabRole)["RiposteRevokeOlderSessions"]; !ok {
		t.Errorf("role policies %v", lab.Fake[*aws.Fake](l).RolePolicies(aws.LabRole))
	}
	if n := lab.Fake[*aws.Fake](l).Snapshots(aws.LabInstance); n != 2 {
		t.Errorf("snapshots = %d, want 2", n)
	}

	code, b := h.do("POST", "/v1/runs/"+url.PathEscape(wid)+"/rollback", h.tokenFor("USOC"), `{"user":"USOC"}`)
	if code != 202 {
		t.Fatalf("rollback: %d %s", code, b)
	}
	if rb := h.waitRun("rollback:"+wid, 2*time.Minute); rb.Temporal != "completed" {
		t.Fatalf("rollback run: %+v", rb)
	}
	after := lab.Fake[*aws.Fake](l).InstanceGroups(aws.LabInstance)
	for eni, gs := range before {
		if strings.Join(after[eni], ",") != strings.Join(gs, ",") {
			t.Errorf("%s after rollback: %v, want %v", eni, after[eni], gs)
		}
	}
	if lab.Fake[*aws.Fake](l).KeyStatus(aws.LabUserKey) != "Active" {
		t.Errorf("key after rollback: %s", lab.Fake[*aws.Fake](l).KeyStatus(aws.LabUserKey))
	}
	if pol := lab.Fake[*aws.Fake](l).RolePolicies(aws.LabRole); len(pol) != 0 {
		t.Errorf("role policies after rollback: %v", pol)
	}
	if n := lab.Fake[*aws.Fake](l).Snapshots(aws.LabInstance); n != 2 {
		t.Errorf("snapshots after rollback = %d (evidence is kept)", n)
	}
}
