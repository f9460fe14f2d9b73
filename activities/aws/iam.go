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

// revokeDocument is the policy the IAM console's "Revoke active sessions"
// attaches (AWSRevokeOlderSessions), under Riposte's own name.
func revokeDocument(before time.Time) string {
	doc := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Deny", "Action": []string{"*"}, "Resource": []string{"*"},
		"Condition": map[string]any{"DateLessThan": map[string]any{"aws:TokenIssueTime": before.UTC().Format(time.RFC3339)}},
	}}}
	b, _ := json.Marshal(doc)
	return string(b)
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

// currentRevocation reads Riposte's revoke policy of the role, if any.
func currentRevocation(ctx context.Context, c *connector.Conn, cl *clients, role string) (time.Time, bool, error) {
	got, err := cl.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: awssdk.String(role), PolicyName: awssdk.String(RevokePolicyName)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchEntity" && strings.Contains(strings.ToLower(ae.ErrorMessage()), "policy") {
			return time.Time{}, false, nil
		}
		return time.Time{}, false, classify(c, "GetRolePolicy", err)
	}
	// The document comes URL-encoded (IAM API reference, GetRolePolicy).
	doc, err := url.QueryUnescape(awssdk.ToString(got.PolicyDocument))
	if err != nil {
		doc = awssdk.ToString(got.PolicyDocument)
	}
	var p struct {
		Statement []struct {
			Condition struct {
				DateLessThan map[string]string `json:"DateLessThan"`
			} `json:"Condition"`
		} `json:"Statement"`
	}
	if json.Unmarshal([]byte(doc), &p) != nil || len(p.Statement) == 0 {
		return time.Time{}, true, nil
	}
	t, _ := time.Parse(time.RFC3339, p.Statement[0].Condition.DateLessThan["aws:TokenIssueTime"])
	return t, true, nil
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
	cur, exists, err := currentRevocation(ctx, c, cl, role)
	if err != nil {
		return nil, wrap(err)
	}
	if exists && !cur.Before(before) {
		out["already"], out["revoked_before"] = true, cur.Format(time.RFC3339)
		return out, nil
	}
	if _, err := cl.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: awssdk.String(role), PolicyName: awssdk.String(RevokePolicyName), PolicyDocument: awssdk.String(revokeDocument(before))}); err != nil {
		return nil, wrap(classify(c, "PutRolePolicy", err))
	}
	c.LogAction("revoked role sessions", "role", role, "before", before)
	return out, nil
}

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
	_, exists, err := currentRevocation(ctx, c, cl, role)
	if err != nil {
		return nil, wrap(err)
	}
	if !exists {
		out["already"] = true
		return out, nil
	}
	if _, err := cl.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: awssdk.String(role), PolicyName: awssdk.String(RevokePolicyName)}); err != nil {
		return nil, wrap(classify(c, "DeleteRolePolicy", err))
	}
	c.LogAction("removed session revocation", "role", role)
	return out, nil
}

func iamStatus(s string) iamtypes.StatusType { return iamtypes.StatusType(s) }
