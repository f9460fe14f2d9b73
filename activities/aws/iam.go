package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/riposte-dev/riposte/internal/connector"
)

// --- access keys ---

func setKeyStatus(ctx context.Context, c *connector.Conn, status string) (map[string]any, error) {
	key, err := connector.RequireString(c.Call, "access_key_id")
	if err != nil {
		return nil, err
	}
	if !accessKeyRe.MatchString(key) {
		return nil, connector.InvalidParam("%s: %q is not an access key id", c.Call.Action, key)
	}
	user, err := connector.OptString(c.Call, "user_name", "")
	if err != nil {
		return nil, err
	}
	if user != "" && !nameRe.MatchString(user) {
		return nil, connector.InvalidParam("%s: %q is not an IAM user name", c.Call.Action, user)
	}
	wrap := func(err error) error { return fmt.Errorf("setting access key %s to %s: %w", key, status, err) }
	cl, err := newClients(ctx, c)
	if err != nil {
		return nil, wrap(err)
	}
	if user == "" {
		// ListAccessKeys without UserName lists the caller's own keys, and
		// refuses temporary credentials (IAM API reference): the owner of
		// another user's key comes from GetAccessKeyLastUsed.
		last, err := cl.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: awssdk.String(key)})
		if err != nil {
			return nil, wrap(classify(c, "GetAccessKeyLastUsed", err))
		}
		if user = awssdk.ToString(last.UserName); user == "" {
			return nil, wrap(connector.NewFailure(connector.KindNotFound, fmt.Sprintf("access key %s has no owner in %s", key, c.Where())))
		}
	}
	list, err := cl.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: awssdk.String(user)})
	if err != nil {
		return nil, wrap(classify(c, "ListAccessKeys", err))
	}
	current := ""
	for _, k := range list.AccessKeyMetadata {
		if awssdk.ToString(k.AccessKeyId) == key {
			current = string(k.Status)
		}
	}
	if current == "" {
		return nil, wrap(connector.NewFailure(connector.KindNotFound, fmt.Sprintf("access key %s not found for user %q in %s", key, user, c.Where())))
	}
	out := map[string]any{"access_key_id": key, "user_name": user, "status": status, "already": current == status}
	if current == status {
		c.LogAction("access key already in wanted state; nothing sent", "access_key_id", key)
		return out, nil
	}
	up := &iam.UpdateAccessKeyInput{AccessKeyId: awssdk.String(key), Status: iamStatus(status), UserName: awssdk.String(user)}
	if _, err := cl.iam.UpdateAccessKey(ctx, up); err != nil {
		return nil, wrap(classify(c, "UpdateAccessKey", err))
	}
	c.LogAction("changed access key status", "access_key_id", key, "status", status)
	return out, nil
}

// --- role sessions ---

// revokeStatement is one revocation in Riposte's revoke policy: a deny
// on every action to credentials issued before Before, with the Sid of
// the run that wrote it (revokeSid). A statement without a Sid was
// written by a release that kept a single one.
type revokeStatement struct {
	Sid    string
	Before time.Time
}

// revokeSid names a run's revocation in the policy: IAM takes only
// letters and digits in a Sid. Every call of a run (its step, a retry,
// the undo of a rollback, a hold's release, a withdrawal) carries the
// run's workflow id and run id. The run id is part of it: a finding its
// detector reopened has a new run under the same workflow id, and the
// earlier run's revocation (left in place by its withdrawal) is not the
// new run's to lift.
func revokeSid(workflowID, runID string) string {
	return "Riposte" + connector.ShortHash(workflowID+"\x00"+runID, 24)
}

// workflowSid is the Sid a revocation was named by before the run id was
// part of it (the workflow id alone): such a statement is taken for the
// run's own when the run has none under revokeSid, as one without a Sid.
func workflowSid(workflowID string) string {
	return "Riposte" + connector.ShortHash(workflowID, 24)
}

// revokeStale is how much older than a new cut-off another revocation
// may be before it is dropped when the policy is written: role sessions
// last at most 12 hours (the role's MaximumSessionDuration), so every
// credential it denies has expired; an hour's margin for clock skew.
const revokeStale = 13 * time.Hour

// revokeDocument is the policy the IAM console's "Revoke active sessions"
// attaches (AWSRevokeOlderSessions), under Riposte's own name, with one
// statement per run that revoked: the undo of one run removes its own and
// leaves the others' (an earlier run's cut-off stays in force).
func revokeDocument(stmts []revokeStatement) string {
	list := make([]any, 0, len(stmts))
	for _, s := range stmts {
		st := map[string]any{
			"Effect": "Deny", "Action": []string{"*"}, "Resource": []string{"*"},
			"Condition": map[string]any{"DateLessThan": map[string]any{"aws:TokenIssueTime": s.Before.UTC().Format(time.RFC3339)}},
		}
		if s.Sid != "" {
			st["Sid"] = s.Sid
		}
		list = append(list, st)
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": list})
	return string(b)
}

// latestCutoff is the latest cut-off of stmts: credentials issued before
// it are denied.
func latestCutoff(stmts []revokeStatement) (time.Time, bool) {
	var t time.Time
	for _, s := range stmts {
		if s.Before.After(t) {
			t = s.Before
		}
	}
	return t, len(stmts) > 0
}

func roleName(c *connector.Conn) (string, error) {
	r, err := connector.RequireString(c.Call, "role_name")
	if err != nil {
		return "", err
	}
	if !nameRe.MatchString(r) {
		return "", connector.InvalidParam("%s: %q is not an IAM role name", c.Call.Action, r)
	}
	return r, nil
}

// currentRevocation reads Riposte's revoke policy of the role, if any, and
// its statements (none when the document is not one Riposte wrote).
func currentRevocation(ctx context.Context, c *connector.Conn, cl *clients, role string) ([]revokeStatement, bool, error) {
	got, err := cl.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: awssdk.String(role), PolicyName: awssdk.String(RevokePolicyName)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchEntity" && strings.Contains(strings.ToLower(ae.ErrorMessage()), "policy") {
			return nil, false, nil
		}
		return nil, false, classify(c, "GetRolePolicy", err)
	}
	// The document comes URL-encoded (IAM API reference, GetRolePolicy).
	doc, err := url.QueryUnescape(awssdk.ToString(got.PolicyDocument))
	if err != nil {
		doc = awssdk.ToString(got.PolicyDocument)
	}
	var p struct {
		Statement []struct {
			Sid       string `json:"Sid"`
			Condition struct {
				DateLessThan map[string]string `json:"DateLessThan"`
			} `json:"Condition"`
		} `json:"Statement"`
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return nil, true, nil
	}
	var out []revokeStatement
	for _, st := range p.Statement {
		if t, err := time.Parse(time.RFC3339, st.Condition.DateLessThan["aws:TokenIssueTime"]); err == nil {
			out = append(out, revokeStatement{Sid: st.Sid, Before: t})
		}
	}
	return out, true, nil
}

func revokeSessions(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	role, err := roleName(c)
	if err != nil {
		return nil, err
	}
	wrap := func(err error) error { return fmt.Errorf("revoking sessions of role %s: %w", role, err) }
	cl, err := newClients(ctx, c)
	if err != nil {
		return nil, wrap(err)
	}
	// The cut-off is when the step was first scheduled: the same on every
	// retry, so a retry writes the same document.
	before := time.Now().UTC().Truncate(time.Second)
	if t, ok := connector.ScheduledTime(ctx); ok {
		before = t.UTC().Truncate(time.Second)
	}
	out := map[string]any{"role_name": role, "policy_name": RevokePolicyName, "revoked_before": before.Format(time.RFC3339), "already": false}
	stmts, _, err := currentRevocation(ctx, c, cl, role)
	if err != nil {
		return nil, wrap(err)
	}
	if cur, ok := latestCutoff(stmts); ok && !cur.Before(before) {
		out["already"], out["revoked_before"] = true, cur.Format(time.RFC3339)
		return out, nil
	}
	// The other revocations stay: undoing this run's must leave theirs.
	sid := revokeSid(c.Call.WorkflowID, c.Call.RunID)
	keep := []revokeStatement{}
	for _, s := range stmts {
		if s.Sid != sid && !s.Before.Before(before.Add(-revokeStale)) {
			keep = append(keep, s)
		}
	}
	keep = append(keep, revokeStatement{Sid: sid, Before: before})
	if _, err := cl.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: awssdk.String(role), PolicyName: awssdk.String(RevokePolicyName), PolicyDocument: awssdk.String(revokeDocument(keep))}); err != nil {
		return nil, wrap(classify(c, "PutRolePolicy", err))
	}
	c.LogAction("revoked role sessions", "role", role, "before", before)
	return out, nil
}

// restoreSessions removes the run's own revocation: the statement with
// its Sid. Other runs' revocations stay (the policy is rewritten without
// it, or deleted when it was the last), and with none of its own in place
// (a retried undo, another run's revocation) nothing changes (already).
// A run without a statement of its own removes the one an earlier release
// wrote (no Sid, or the workflow id's: that run revoked before the
// upgrade); a document Riposte cannot read goes whole, as before.
func restoreSessions(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	role, err := roleName(c)
	if err != nil {
		return nil, err
	}
	wrap := func(err error) error { return fmt.Errorf("restoring sessions of role %s: %w", role, err) }
	cl, err := newClients(ctx, c)
	if err != nil {
		return nil, wrap(err)
	}
	out := map[string]any{"role_name": role, "policy_name": RevokePolicyName, "revoked_before": "", "already": false}
	stmts, exists, err := currentRevocation(ctx, c, cl, role)
	if err != nil {
		return nil, wrap(err)
	}
	if !exists {
		out["already"] = true
		return out, nil
	}
	sid, legacy := revokeSid(c.Call.WorkflowID, c.Call.RunID), workflowSid(c.Call.WorkflowID)
	own := false
	for _, s := range stmts {
		own = own || s.Sid == sid
	}
	// The run's own statement; without one, a statement an earlier
	// release wrote (no Sid, or the workflow id's: a run from before the
	// upgrade).
	var rest []revokeStatement
	for _, s := range stmts {
		if s.Sid != sid && (own || (s.Sid != "" && s.Sid != legacy)) {
			rest = append(rest, s)
		}
	}
	if len(stmts) > 0 && len(rest) == len(stmts) {
		// Every revocation in place is another run's: this run's was
		// removed already (a retried undo), or it never wrote one.
		cur, _ := latestCutoff(stmts)
		out["already"], out["revoked_before"] = true, cur.Format(time.RFC3339)
		c.LogAction("no session revocation of this run in place; other runs' left as they are", "role", role)
		return out, nil
	}
	if len(rest) > 0 {
		if _, err := cl.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: awssdk.String(role), PolicyName: awssdk.String(RevokePolicyName), PolicyDocument: awssdk.String(revokeDocument(rest))}); err != nil {
			return nil, wrap(classify(c, "PutRolePolicy", err))
		}
		cur, _ := latestCutoff(rest)
		out["revoked_before"] = cur.Format(time.RFC3339)
		c.LogAction("removed this run's session revocation; other runs' stay", "role", role, "revoked_before", out["revoked_before"])
		return out, nil
	}
	if _, err := cl.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: awssdk.String(role), PolicyName: awssdk.String(RevokePolicyName)}); err != nil {
		return nil, wrap(classify(c, "DeleteRolePolicy", err))
	}
	c.LogAction("removed session revocation", "role", role)
	return out, nil
}

func iamStatus(s string) iamtypes.StatusType { return iamtypes.StatusType(s) }
