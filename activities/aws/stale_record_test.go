package aws_test

import (
	"context"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/riposte-dev/riposte/activities/aws"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// setGroupsByHand changes an interface's security groups as an analyst
// does in the EC2 console: the record tag Riposte wrote stays.
func setGroupsByHand(t *testing.T, h *connectortest.Harness, eni string, groups ...string) {
	t.Helper()
	conn := h.Lab.Connections()["aws"]
	cfg := awssdk.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(
		conn.Options["access_key_id"], conn.Secrets["secret_access_key"].Lab, "")}
	cl := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = awssdk.String(conn.Options["ec2_endpoint"]) })
	if _, err := cl.ModifyNetworkInterfaceAttribute(context.Background(), &ec2.ModifyNetworkInterfaceAttributeInput{
		NetworkInterfaceId: awssdk.String(eni), Groups: groups}); err != nil {
		t.Fatal(err)
	}
}

// An isolation released by hand in the console leaves Riposte's record of
// the groups before it on the instance. A later isolation (another run)
// must record the groups the instance has then, not take the old record
// for a retry's: its undo would otherwise put back the groups of the
// earlier incident, here the SSH group the analyst had removed.
func TestIsolationAfterManualReleaseRecordsCurrentGroups(t *testing.T) {
	h := connectortest.New(t)
	fk := lab.Fake[*aws.Fake](h.Lab)
	h.MustRun("aws.isolate_instance", map[string]any{"instance_id": aws.LabInstance}, "run1-isolate")

	// The analyst releases the instance by hand, without the SSH group.
	const web, ssh, db = "sg-0eb00000000000001", "sg-05550000000000001", "sg-0db00000000000001"
	setGroupsByHand(t, h, "eni-0aaa11112222333a", web)
	setGroupsByHand(t, h, "eni-0bbb11112222333b", db)
	released := fk.InstanceGroups(aws.LabInstance)

	out := h.MustRun("aws.isolate_instance", map[string]any{"instance_id": aws.LabInstance}, "run2-isolate")
	prev, _ := out["previous_security_groups"].(map[string]any)
	if got := prev["eni-0aaa11112222333a"]; len(got.([]any)) != 1 || got.([]any)[0] != web {
		t.Errorf("run 2 recorded %v as the groups before its isolation, want %v", prev, released)
	}
	h.MustRun("aws.restore_instance", map[string]any{"instance_id": aws.LabInstance}, "run2-restore")
	after := fk.InstanceGroups(aws.LabInstance)
	for eni, gs := range released {
		if strings.Join(after[eni], "+") != strings.Join(gs, "+") {
			t.Errorf("%s: %v after run 2's undo, want %v (the groups before run 2's isolation)", eni, after[eni], gs)
		}
	}
	if strings.Contains(strings.Join(after["eni-0aaa11112222333a"], "+"), ssh) {
		t.Errorf("run 2's undo put back %s, removed by the analyst after run 1", ssh)
	}
}

// The undo of an isolation an analyst already released by hand (the
// step's contain_for hold ending, a rollback) finds no interface in
// quarantine: it leaves the groups as the analyst set them instead of
// putting back those from before the isolation.
func TestRestoreAfterManualReleaseKeepsTheAnalystsGroups(t *testing.T) {
	h := connectortest.New(t)
	fk := lab.Fake[*aws.Fake](h.Lab)
	h.MustRun("aws.isolate_instance", map[string]any{"instance_id": aws.LabInstance}, "run1-isolate")
	const web, db = "sg-0eb00000000000001", "sg-0db00000000000001"
	setGroupsByHand(t, h, "eni-0aaa11112222333a", web)
	setGroupsByHand(t, h, "eni-0bbb11112222333b", db)
	released := fk.InstanceGroups(aws.LabInstance)

	out := h.MustRun("aws.restore_instance", map[string]any{"instance_id": aws.LabInstance}, "run1-restore")
	after := fk.InstanceGroups(aws.LabInstance)
	for eni, gs := range released {
		if strings.Join(after[eni], "+") != strings.Join(gs, "+") {
			t.Errorf("%s: %v after the undo, want %v as released by hand", eni, after[eni], gs)
		}
	}
	if out["already"] != true {
		t.Errorf("undo of an isolation released by hand: already = %v, want true", out["already"])
	}
	// The stale record is gone: a later isolation records afresh.
	out = h.MustRun("aws.isolate_instance", map[string]any{"instance_id": aws.LabInstance}, "run2-isolate")
	if prev, _ := out["previous_security_groups"].(map[string]any); len(prev["eni-0aaa11112222333a"].([]any)) != 1 {
		t.Errorf("run 2 recorded %v", prev)
	}
}
