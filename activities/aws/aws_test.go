package aws_test

import (
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/activities/aws"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// Every action against the lab's IAM/EC2 fake, through the real SDK
// (SigV4-signed query requests), with its undo.
func TestAccessKeyDisableAndEnable(t *testing.T) {
	h := connectortest.New(t)
	p := map[string]any{"access_key_id": aws.LabUserKey, "user_name": aws.LabUser}
	out := h.MustRun("aws.disable_access_key", p, "k1")
	if out["status"] != "Inactive" || out["already"] != false || lab.Fake[*aws.Fake](h.Lab).KeyStatus(aws.LabUserKey) != "Inactive" {
		t.Fatalf("disable: %v, lab %s", out, lab.Fake[*aws.Fake](h.Lab).KeyStatus(aws.LabUserKey))
	}
	if out := h.MustRun("aws.disable_access_key", p, "k1"); out["already"] != true {
		t.Errorf("repeat: %v", out)
	}
	h.MustRun("aws.enable_access_key", p, "k2")
	if got := lab.Fake[*aws.Fake](h.Lab).KeyStatus(aws.LabUserKey); got != "Active" {
		t.Errorf("after undo: %s", got)
	}
	_, err := h.Run("aws.disable_access_key", map[string]any{"access_key_id": "AKIANOSUCHKEY0000000", "user_name": aws.LabUser}, "k3")
	if ae := connectortest.AppError(t, err); ae.Type() != "NotFound" {
		t.Errorf("unknown key: %v", err)
	}
}

// A GuardDuty AccessKey finding names the key only. IAM's ListAccessKeys
// without UserName lists the caller's own keys and refuses temporary
// credentials, so the connector asks GetAccessKeyLastUsed for the owner
// first: with the lab's user key and with an assumed role.
func TestAccessKeyWithoutUserName(t *testing.T) {
	for _, role := range []string{"", "arn:aws:iam::" + aws.LabAccount + ":role/riposte-responder"} {
		t.Run("role="+role, func(t *testing.T) {
			h := connectortest.New(t)
			if role != "" {
				h.Env.Connections["aws"].Options["role_arn"] = role
			}
			out := h.MustRun("aws.disable_access_key", map[string]any{"access_key_id": aws.LabUserKey}, "k1")
			if out["user_name"] != aws.LabUser || out["already"] != false || lab.Fake[*aws.Fake](h.Lab).KeyStatus(aws.LabUserKey) != "Inactive" {
				t.Fatalf("disable: %v, lab %s", out, lab.Fake[*aws.Fake](h.Lab).KeyStatus(aws.LabUserKey))
			}
			h.MustRun("aws.enable_access_key", map[string]any{"access_key_id": aws.LabUserKey, "user_name": ""}, "k2")
			if got := lab.Fake[*aws.Fake](h.Lab).KeyStatus(aws.LabUserKey); got != "Active" {
				t.Errorf("after undo: %s", got)
			}
			// A key IAM does not know: AccessDenied from GetAccessKeyLastUsed,
			// an auth failure that names the operation; nothing changed.
			_, err := h.Run("aws.disable_access_key", map[string]any{"access_key_id": "AKIANOSUCHKEY0000000"}, "k3")
			if ae := connectortest.AppError(t, err); ae.Type() != "AuthFailed" || !strings.Contains(err.Error(), "GetAccessKeyLastUsed") {
				t.Errorf("unknown key: %v", err)
			}
		})
	}
}

func TestRevokeRoleSessions(t *testing.T) {
	h := connectortest.New(t)
	// The cut-off is the attempt's scheduled time to the second, and the
	// test environment schedules each run at the wall clock: start both
	// runs of the same step at the start of a second, so the repeat has
	// the same cut-off, as a retry of one step does (it failed in CI when
	// the two runs straddled a second).
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	out := h.MustRun("aws.revoke_role_sessions", map[string]any{"role_name": aws.LabRole}, "k1")
	doc := lab.Fake[*aws.Fake](h.Lab).RolePolicies(aws.LabRole)["RiposteRevokeOlderSessions"]
	if !strings.Contains(doc, `"aws:TokenIssueTime":"`+out["revoked_before"].(string)+`"`) || !strings.Contains(doc, `"Effect":"Deny"`) {
		t.Fatalf("policy = %s (output %v)", doc, out)
	}
	if out := h.MustRun("aws.revoke_role_sessions", map[string]any{"role_name": aws.LabRole}, "k1"); out["already"] != true {
		t.Errorf("repeat: %v", out)
	}
	h.MustRun("aws.restore_role_sessions", map[string]any{"role_name": aws.LabRole}, "k2")
	if pol := lab.Fake[*aws.Fake](h.Lab).RolePolicies(aws.LabRole); len(pol) != 0 {
		t.Errorf("after undo: %v", pol)
	}
	if out := h.MustRun("aws.restore_role_sessions", map[string]any{"role_name": aws.LabRole}, "k2"); out["already"] != true {
		t.Errorf("undo repeat: %v", out)
	}
}

func TestIsolateAndRestoreInstance(t *testing.T) {
	h := connectortest.New(t)
	before := lab.Fake[*aws.Fake](h.Lab).InstanceGroups(aws.LabInstance)
	out := h.MustRun("aws.isolate_instance", map[string]any{"instance_id": aws.LabInstance}, "k1")
	for eni, gs := range lab.Fake[*aws.Fake](h.Lab).InstanceGroups(aws.LabInstance) {
		if len(gs) != 1 || gs[0] != aws.LabQuarantineGroup {
			t.Errorf("%s: %v after isolation", eni, gs)
		}
	}
	prev, _ := out["previous_security_groups"].(map[string]any)
	if len(prev) != 2 {
		t.Errorf("output = %v", out)
	}
	// A retry keeps the original record, not the quarantine group.
	if out := h.MustRun("aws.isolate_instance", map[string]any{"instance_id": aws.LabInstance}, "k1"); out["already"] != true {
		t.Errorf("repeat: %v", out)
	}
	h.MustRun("aws.restore_instance", map[string]any{"instance_id": aws.LabInstance}, "k2")
	after := lab.Fake[*aws.Fake](h.Lab).InstanceGroups(aws.LabInstance)
	for eni, gs := range before {
		if strings.Join(after[eni], ",") != strings.Join(gs, ",") {
			t.Errorf("%s: %v after undo, want %v", eni, after[eni], gs)
		}
	}
	_, err := h.Run("aws.isolate_instance", map[string]any{"instance_id": "i-0000000000000dead"}, "k3")
	if ae := connectortest.AppError(t, err); ae.Type() != "NotFound" {
		t.Errorf("unknown instance: %v", err)
	}
	_, err = h.Run("aws.isolate_instance", map[string]any{"instance_id": aws.LabInstance, "quarantine_security_group": "sg-0000000000000dead"}, "k4")
	if ae := connectortest.AppError(t, err); ae.NonRetryable() == false {
		t.Errorf("unknown group: %v", err)
	}
}

func TestSnapshotOncePerStep(t *testing.T) {
	h := connectortest.New(t)
	out := h.MustRun("aws.snapshot_instance", map[string]any{"instance_id": aws.LabInstance}, "k1")
	ids, _ := out["snapshot_ids"].([]any)
	if len(ids) != 2 || out["already"] != false {
		t.Fatalf("output = %v", out)
	}
	again := h.MustRun("aws.snapshot_instance", map[string]any{"instance_id": aws.LabInstance}, "k1")
	if again["already"] != true || lab.Fake[*aws.Fake](h.Lab).Snapshots(aws.LabInstance) != 2 {
		t.Errorf("repeat: %v, snapshots %d", again, lab.Fake[*aws.Fake](h.Lab).Snapshots(aws.LabInstance))
	}
}

// The connection's role is assumed through STS; calls are signed with
// the temporary credentials (the fake checks the session token).
func TestAssumedRole(t *testing.T) {
	h := connectortest.New(t)
	c := h.Env.Connections["aws"]
	c.Options["role_arn"] = "arn:aws:iam::" + aws.LabAccount + ":role/riposte-responder"
	h.Env.Connections["aws"] = c
	h.MustRun("aws.disable_access_key", map[string]any{"access_key_id": aws.LabUserKey, "user_name": aws.LabUser}, "k1")
	c.Options["role_arn"] = "arn:aws:iam::" + aws.LabAccount + ":role/not-a-role"
	_, err := h.Run("aws.enable_access_key", map[string]any{"access_key_id": aws.LabUserKey, "user_name": aws.LabUser}, "k2")
	if err == nil {
		t.Fatal("an unknown role was assumed")
	}
}

// A wrong secret fails the SigV4 check: AuthFailed, not retried, and the
// secret stays out of the message.
func TestBadSignatureIsAuthFailure(t *testing.T) {
	h := connectortest.New(t)
	c := h.Env.Connections["aws"]
	c.Secrets = map[string]activities.SecretRef{"secret_access_key": {Lab: "not-the-lab-secret"}}
	h.Env.Connections["aws"] = c
	_, err := h.Run("aws.disable_access_key", map[string]any{"access_key_id": aws.LabUserKey, "user_name": aws.LabUser}, "k1")
	ae := connectortest.AppError(t, err)
	if ae.Type() != "AuthFailed" || !ae.NonRetryable() || strings.Contains(err.Error(), "not-the-lab-secret") {
		t.Errorf("err = %v", err)
	}
	if got := lab.Fake[*aws.Fake](h.Lab).KeyStatus(aws.LabUserKey); got != "Active" {
		t.Errorf("key %s", got)
	}
}
