package aws_test

import (
	"fmt"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/activities/aws"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// Run A isolates the instance into the connection's quarantine group; run
// B, another playbook, isolates it into its own (quarantine_security_group:
// a group that lets a forensics tool in) while A's isolation holds. Rolling
// back what the runs did (newest first, as riposte rollback and the holds
// do; a call found already in place is not undone) must give the instance
// back the security groups it had before run A. B's isolation used to
// replace A's in place, and B's undo took A's record for a stale one
// (no interface in A's group any more): it removed the record and left B's
// group, both undos reported success, and the instance stayed isolated
// with its groups lost.
func TestIsolationsIntoTwoQuarantineGroupsRollBackToTheOriginalGroups(t *testing.T) {
	h := connectortest.New(t)
	fk := lab.Fake[*aws.Fake](h.Lab)
	before := fmt.Sprint(fk.InstanceGroups(aws.LabInstance))
	run := func(action, wf, step string, p map[string]any) (map[string]any, error) {
		v, err := h.Execute(action, activities.Call{Action: action, Params: p, WorkflowID: wf, RunID: "r-" + wf, StepID: step, Index: -1, IdempotencyKey: wf + "/" + step + "/-1"})
		if err != nil {
			return nil, err
		}
		var out map[string]any
		return out, v.Get(&out)
	}
	pa := map[string]any{"instance_id": aws.LabInstance}
	pb := map[string]any{"instance_id": aws.LabInstance, "quarantine_security_group": aws.LabForensicsGroup}
	if _, err := run("aws.isolate_instance", "run-A", "isolate", pa); err != nil {
		t.Fatal(err)
	}
	outB, errB := run("aws.isolate_instance", "run-B", "isolate", pb)
	t.Logf("run B: %v, err %v; groups %v", outB, errB, fk.InstanceGroups(aws.LabInstance))
	if errB == nil && outB[catalog.OutputPreexisting] != true {
		outU, err := run("aws.restore_instance", "run-B", "isolate.rollback", pb)
		t.Logf("rollback of run B: %v, err %v; groups %v", outU, err, fk.InstanceGroups(aws.LabInstance))
	}
	outU, err := run("aws.restore_instance", "run-A", "isolate.rollback", pa)
	t.Logf("rollback of run A: %v, err %v", outU, err)
	if got := fmt.Sprint(fk.InstanceGroups(aws.LabInstance)); got != before {
		t.Fatalf("after rolling back both runs the instance has %s, before run A it had %s", got, before)
	}
}
