// Package aws is the AWS connector: IAM access keys and role sessions,
// EC2 instance isolation and snapshots, through the AWS SDK for Go v2 with
// its standard credential chain (env, shared config/SSO, ECS/EC2 roles) or
// a static key, and an optional role assumed per connection.
package aws

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
)

// Type is the aws connection type: what a connection needs in riposte.yaml.
var Type = connector.ConnectionType{
	Name:            "aws",
	Description:     "Amazon Web Services (IAM, EC2) through the AWS SDK for Go v2. Credentials: the SDK's standard chain (AWS_* env vars, shared config and SSO profiles, ECS/EC2 instance roles) unless access_key_id and secret_access_key are set; role_arn is assumed on top. No base_url: the SDK picks the regional endpoints.",
	BaseURLOptional: true,
	Fields: []connector.ConnectionField{
		{Name: "region", Description: "AWS region of the EC2 resources (IAM is global); default: the SDK chain (AWS_REGION, profile).", Example: "eu-west-1"},
		{Name: "profile", Description: "Shared config profile to load (~/.aws/config).", Example: "security-automation"},
		{Name: "access_key_id", Description: "Static access key id; with secret_access_key it replaces the SDK chain.", Example: "${AWS_ACCESS_KEY_ID}"},
		{Name: "secret_access_key", Secret: true, Description: "Static secret access key.", Example: "{env: AWS_SECRET_ACCESS_KEY}"},
		{Name: "role_arn", Description: "Role to assume (sts:AssumeRole) for every call of this connection.", Example: "arn:aws:iam::111122223333:role/riposte-responder"},
		{Name: "external_id", Description: "ExternalId the role's trust policy requires."},
		{Name: "session_name", Default: "riposte", Description: "RoleSessionName of assumed-role sessions (shows in CloudTrail)."},
		{Name: "quarantine_security_group", Description: "Security group aws.isolate_instance puts instances in when the step gives none (no rules, or only forensics access).", Example: "sg-0123456789abcdef0"},
		{Name: "iam_endpoint", URL: true, Description: "Custom IAM endpoint (VPC endpoint, test lab)."},
		{Name: "ec2_endpoint", URL: true, Description: "Custom EC2 endpoint (VPC endpoint, test lab)."},
		{Name: "sts_endpoint", URL: true, Description: "Custom STS endpoint for role_arn (regional STS, test lab)."},
	},
}

// docs is the connector's docs fragment (docs/actions.md is generated
// from it).
//
//go:embed README.md
var docs string

// Connector is this vendor's line in the registry (activities/connections.go).
func Connector() connector.Vendor {
	return connector.Vendor{Docs: docs, Type: Type, Definitions: Definitions, Check: check,
		Needs: "iam:ListAccessKeys, iam:UpdateAccessKey, iam:GetRolePolicy, iam:PutRolePolicy, iam:DeleteRolePolicy, ec2:DescribeInstances, ec2:CreateTags, ec2:DeleteTags, ec2:ModifyNetworkInterfaceAttribute, ec2:CreateSnapshots, ec2:DescribeSnapshots (and sts:AssumeRole on role_arn)"}
}

// Tags Riposte writes on instances and snapshots.
const (
	// TagPreviousGroups records an isolated instance's security groups per
	// network interface ("eni-1=sg-a+sg-b;eni-2=sg-c"), for the undo.
	TagPreviousGroups = "riposte:previous-security-groups"
	// TagStep marks snapshots with a hash of the step's idempotency key.
	TagStep = "riposte:step"
	// RevokePolicyName is the inline policy aws.revoke_role_sessions puts.
	RevokePolicyName = "RiposteRevokeOlderSessions"
)

// Definitions are the AWS actions.
func Definitions() []connector.Definition {
	conn := connector.ConnectionParam("aws")
	keyParams := []catalog.Param{
		{Name: "access_key_id", Type: catalog.TypeString, Required: true, Description: "Access key id (AKIA…)."},
		{Name: "user_name", Type: catalog.TypeString, Description: "IAM user the key belongs to (needed unless the key is the caller's own)."},
		conn,
	}
	keyOutputs := []catalog.Field{
		{Name: "access_key_id", Type: catalog.TypeString, Description: "The key."},
		{Name: "user_name", Type: catalog.TypeString, Description: "Its user."},
		{Name: "status", Type: catalog.TypeString, Description: "Status after the call: Active or Inactive."},
		{Name: "already", Type: catalog.TypeBool, Description: "True when the key already had that status, so nothing was sent."},
		connector.ConnectionOutput(),
	}
	roleParams := []catalog.Param{{Name: "role_name", Type: catalog.TypeString, Required: true, Description: "IAM role whose sessions to revoke."}, conn}
	roleOutputs := []catalog.Field{
		{Name: "role_name", Type: catalog.TypeString, Description: "The role."},
		{Name: "policy_name", Type: catalog.TypeString, Description: "Inline policy name (" + RevokePolicyName + ")."},
		{Name: "revoked_before", Type: catalog.TypeString, Description: "Sessions issued before this time (RFC 3339) are denied."},
		{Name: "already", Type: catalog.TypeBool, Description: "True when nothing needed to change."},
		connector.ConnectionOutput(),
	}
	instParams := []catalog.Param{
		{Name: "instance_id", Type: catalog.TypeString, Required: true, Description: "EC2 instance id (i-…)."},
		{Name: "quarantine_security_group", Type: catalog.TypeString, Description: "Security group to isolate into; default: the connection's quarantine_security_group."},
		conn,
	}
	instOutputs := []catalog.Field{
		{Name: "instance_id", Type: catalog.TypeString, Description: "The instance."},
		{Name: "network_interfaces", Type: catalog.TypeList, Description: "Network interfaces changed."},
		{Name: "previous_security_groups", Type: catalog.TypeObject, Description: "Security groups before isolation, by network interface (also kept in the instance tag " + TagPreviousGroups + ")."},
		{Name: "security_groups", Type: catalog.TypeObject, Description: "Security groups after the call, by network interface."},
		{Name: "already", Type: catalog.TypeBool, Description: "True when the instance was already in the wanted state."},
		connector.ConnectionOutput(),
	}
	return []connector.Definition{
		{
			Action: catalog.Action{Name: "aws.disable_access_key", Vendor: "aws", Risk: catalog.RiskContain, Undo: "aws.enable_access_key",
				Description: "Deactivates an IAM access key (UpdateAccessKey Status=Inactive): requests signed with it fail. Needs iam:ListAccessKeys and iam:UpdateAccessKey.",
				Params:      keyParams, Outputs: keyOutputs},
			Run: connector.Run(Type, "AWS", false, func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				return setKeyStatus(ctx, c, "Inactive")
			}),
		},
		{
			Action: catalog.Action{Name: "aws.enable_access_key", Vendor: "aws", Risk: catalog.RiskContain, Undo: "aws.disable_access_key",
				Description: "Reactivates an IAM access key (UpdateAccessKey Status=Active). Needs iam:ListAccessKeys and iam:UpdateAccessKey.",
				Params:      keyParams, Outputs: keyOutputs},
			Run: connector.Run(Type, "AWS", false, func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				return setKeyStatus(ctx, c, "Active")
			}),
		},
		{
			Action: catalog.Action{Name: "aws.revoke_role_sessions", Vendor: "aws", Risk: catalog.RiskContain, Undo: "aws.restore_role_sessions",
				Description: "Revokes the role's active sessions: an inline policy " + RevokePolicyName + " denies every action to credentials issued before now (aws:TokenIssueTime), as the IAM console's Revoke sessions does. New sessions work. Needs iam:PutRolePolicy and iam:GetRolePolicy.",
				Params:      roleParams, Outputs: roleOutputs},
			Run: connector.Run(Type, "AWS", false, revokeSessions),
		},
		{
			Action: catalog.Action{Name: "aws.restore_role_sessions", Vendor: "aws", Risk: catalog.RiskContain, Undo: "aws.revoke_role_sessions",
				Description: "Removes the " + RevokePolicyName + " inline policy aws.revoke_role_sessions put, so sessions issued before it work again (if not expired). Needs iam:DeleteRolePolicy.",
				Params:      roleParams, Outputs: roleOutputs},
			Run: connector.Run(Type, "AWS", false, restoreSessions),
		},
		{
			Action: catalog.Action{Name: "aws.isolate_instance", Vendor: "aws", Risk: catalog.RiskContain, Undo: "aws.restore_instance",
				Description: "Isolates an EC2 instance: every network interface gets only the quarantine security group; the previous groups are recorded in the instance tag " + TagPreviousGroups + " first. Connections already tracked may persist until they close (AWS security group connection tracking). Needs ec2:DescribeInstances, ec2:CreateTags, ec2:ModifyNetworkInterfaceAttribute.",
				Params:      instParams, Outputs: instOutputs},
			Run: connector.Run(Type, "AWS", false, isolateInstance),
		},
		{
			Action: catalog.Action{Name: "aws.restore_instance", Vendor: "aws", Risk: catalog.RiskContain, Undo: "aws.isolate_instance",
				Description: "Puts back the security groups recorded by aws.isolate_instance and removes the record tag. Needs ec2:DescribeInstances, ec2:ModifyNetworkInterfaceAttribute, ec2:DeleteTags.",
				Params:      instParams, Outputs: instOutputs},
			Run: connector.Run(Type, "AWS", false, restoreInstance),
		},
		{
			Action: catalog.Action{Name: "aws.snapshot_instance", Vendor: "aws", Risk: catalog.RiskNotify,
				Description: "Preserves evidence: crash-consistent EBS snapshots of every volume of an instance (CreateSnapshots), tagged with the step. Changes nothing on the instance; a retried step finds its snapshots instead of taking more. Needs ec2:CreateSnapshots, ec2:CreateTags, ec2:DescribeSnapshots.",
				Params: []catalog.Param{
					{Name: "instance_id", Type: catalog.TypeString, Required: true, Description: "EC2 instance id (i-…)."},
					{Name: "description", Type: catalog.TypeString, Description: "Snapshot description (default names the workflow and step)."},
					conn,
				},
				Outputs: []catalog.Field{
					{Name: "instance_id", Type: catalog.TypeString, Description: "The instance."},
					{Name: "snapshot_ids", Type: catalog.TypeList, Description: "Snapshots, one per volume."},
					{Name: "already", Type: catalog.TypeBool, Description: "True when this step had already taken them."},
					connector.ConnectionOutput(),
				}},
			Run: connector.Run(Type, "AWS", false, snapshotInstance),
		},
	}
}

// --- clients ---

type clients struct {
	iam *iam.Client
	ec2 *ec2.Client
	sts *sts.Client
}

// newClients loads the SDK config of the connection: the standard chain,
// or the static key, then role_arn assumed on top. Temporal retries the
// step, so the SDK makes one attempt per call.
func newClients(ctx context.Context, c *connector.Conn) (*clients, error) {
	opts := []func(*config.LoadOptions) error{config.WithRetryMaxAttempts(1)}
	if r := c.Option("region"); r != "" {
		opts = append(opts, config.WithRegion(r))
	}
	if p := c.Option("profile"); p != "" {
		opts = append(opts, config.WithSharedConfigProfile(p))
	}
	if c.Env.HTTP != nil && c.Env.HTTP.Transport != nil {
		// A custom transport (tests, proxies) is used as is; otherwise the
		// SDK's own client, which honours AWS_CA_BUNDLE.
		opts = append(opts, config.WithHTTPClient(c.Env.HTTP))
	} else {
		opts = append(opts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(connector.DefaultCallTimeout)))
	}
	if id := c.Option("access_key_id"); id != "" {
		secret, err := c.Secret("secret_access_key")
		if err != nil {
			return nil, err
		}
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, connector.NewFailure(connector.KindNoConnection, fmt.Sprintf("connection %q: loading AWS configuration: %v", c.Name, err))
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if arn := c.Option("role_arn"); arn != "" {
		stsc := sts.NewFromConfig(cfg, func(o *sts.Options) {
			if u := c.Option("sts_endpoint"); u != "" {
				o.BaseEndpoint = awssdk.String(u)
			}
		})
		prov := stscreds.NewAssumeRoleProvider(stsc, arn, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = c.Option("session_name")
			if x := c.Option("external_id"); x != "" {
				o.ExternalID = awssdk.String(x)
			}
		})
		cfg.Credentials = awssdk.NewCredentialsCache(prov)
	}
	out := &clients{
		iam: iam.NewFromConfig(cfg, func(o *iam.Options) {
			if u := c.Option("iam_endpoint"); u != "" {
				o.BaseEndpoint = awssdk.String(u)
			}
		}),
		ec2: ec2.NewFromConfig(cfg, func(o *ec2.Options) {
			if u := c.Option("ec2_endpoint"); u != "" {
				o.BaseEndpoint = awssdk.String(u)
			}
		}),
		sts: sts.NewFromConfig(cfg, func(o *sts.Options) {
			if u := c.Option("sts_endpoint"); u != "" {
				o.BaseEndpoint = awssdk.String(u)
			}
		}),
	}
	return out, nil
}

// classify turns an SDK error into a connector failure: AWS error codes
// from the IAM and EC2 API references.
func classify(c *connector.Conn, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	code, msg := "", err.Error()
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg = ae.ErrorCode(), ae.ErrorMessage()
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	detail := fmt.Sprintf("%s: %s", op, strings.TrimSpace(code+" "+msg))
	switch {
	case code == "NoSuchEntity" || strings.HasSuffix(code, ".NotFound") || code == "InvalidID":
		return connector.NewFailure(connector.KindNotFound, fmt.Sprintf("%s: %s", c.Where(), detail))
	case code == "Throttling" || code == "ThrottlingException" || code == "RequestLimitExceeded" || code == "TooManyRequestsException" || status == http.StatusTooManyRequests:
		f := connector.NewFailure(connector.KindRateLimited, fmt.Sprintf("rate limited by %s (%s)", c.Where(), detail))
		f.Delay = 10 * time.Second
		return f
	case code == "AccessDenied" || code == "AccessDeniedException" || code == "UnauthorizedOperation" || code == "AuthFailure" ||
		code == "InvalidClientTokenId" || code == "SignatureDoesNotMatch" || code == "ExpiredToken" || code == "MissingAuthenticationToken" ||
		status == http.StatusUnauthorized || status == http.StatusForbidden:
		return connector.NewFailure(connector.KindAuth, fmt.Sprintf("%s denied %s; check the credentials of connection %q and that they allow it", c.Where(), detail, c.Name))
	case status >= 500 || code == "InternalFailure" || code == "ServiceUnavailable" || code == "InternalError":
		return connector.NewFailure(connector.KindUnavailable, fmt.Sprintf("%s is unavailable (%s)", c.Where(), detail))
	case status >= 400 || code != "":
		return connector.NewFailure(connector.KindRejected, fmt.Sprintf("%s rejected %s", c.Where(), detail))
	}
	// No answer: a transport error or timeout.
	return connector.NewFailure(connector.KindNetwork, fmt.Sprintf("calling %s: %s", c.Where(), detail))
}

var (
	accessKeyRe = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	nameRe      = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	instanceRe  = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)
	groupRe     = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
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
	in := &iam.ListAccessKeysInput{}
	if user != "" {
		in.UserName = awssdk.String(user)
	}
	list, err := cl.iam.ListAccessKeys(ctx, in)
	if err != nil {
		return nil, wrap(classify(c, "ListAccessKeys", err))
	}
	current := ""
	for _, k := range list.AccessKeyMetadata {
		if awssdk.ToString(k.AccessKeyId) == key {
			current = string(k.Status)
			if user == "" {
				user = awssdk.ToString(k.UserName)
			}
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
	up := &iam.UpdateAccessKeyInput{AccessKeyId: awssdk.String(key), Status: iamStatus(status)}
	if user != "" {
		up.UserName = awssdk.String(user)
	}
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

// --- instances ---

type instanceView struct {
	enis    []string            // in order
	groups  map[string][]string // eni -> group ids
	tags    map[string]string
	volumes []string
}

func describeInstance(ctx context.Context, c *connector.Conn, cl *clients, id string) (*instanceView, error) {
	res, err := cl.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return nil, classify(c, "DescribeInstances", err)
	}
	for _, r := range res.Reservations {
		for _, in := range r.Instances {
			if awssdk.ToString(in.InstanceId) != id {
				continue
			}
			v := &instanceView{groups: map[string][]string{}, tags: map[string]string{}}
			for _, e := range in.NetworkInterfaces {
				eid := awssdk.ToString(e.NetworkInterfaceId)
				v.enis = append(v.enis, eid)
				for _, g := range e.Groups {
					v.groups[eid] = append(v.groups[eid], awssdk.ToString(g.GroupId))
				}
			}
			for _, t := range in.Tags {
				v.tags[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
			}
			for _, b := range in.BlockDeviceMappings {
				if b.Ebs != nil {
					v.volumes = append(v.volumes, awssdk.ToString(b.Ebs.VolumeId))
				}
			}
			return v, nil
		}
	}
	return nil, connector.NewFailure(connector.KindNotFound, fmt.Sprintf("instance %s not found in %s", id, c.Where()))
}

// encodeGroups and decodeGroups (de)serialize the per-interface groups in
// one tag value (at most 256 characters).
func encodeGroups(enis []string, groups map[string][]string) string {
	parts := make([]string, 0, len(enis))
	for _, e := range enis {
		parts = append(parts, e+"="+strings.Join(groups[e], "+"))
	}
	return strings.Join(parts, ";")
}

func decodeGroups(s string) (map[string][]string, bool) {
	out := map[string][]string{}
	for _, part := range strings.Split(s, ";") {
		eni, gs, ok := strings.Cut(part, "=")
		if !ok || !strings.HasPrefix(eni, "eni-") {
			return nil, false
		}
		for _, g := range strings.Split(gs, "+") {
			if !groupRe.MatchString(g) {
				return nil, false
			}
			out[eni] = append(out[eni], g)
		}
	}
	return out, len(out) > 0
}

func instanceParams(c *connector.Conn) (id, quarantine string, err error) {
	id, err = connector.RequireString(c.Call, "instance_id")
	if err != nil {
		return "", "", err
	}
	if !instanceRe.MatchString(id) {
		return "", "", connector.InvalidParam("%s: %q is not an instance id (i-…)", c.Call.Action, id)
	}
	quarantine, err = connector.OptString(c.Call, "quarantine_security_group", c.Option("quarantine_security_group"))
	if err != nil {
		return "", "", err
	}
	return id, quarantine, nil
}

func groupsOut(enis []string, groups map[string][]string) map[string]any {
	m := map[string]any{}
	for _, e := range enis {
		l := make([]any, 0, len(groups[e]))
		for _, g := range groups[e] {
			l = append(l, g)
		}
		m[e] = l
	}
	return m
}

func isolateInstance(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	id, quarantine, err := instanceParams(c)
	if err != nil {
		return nil, err
	}
	if quarantine == "" {
		return nil, connector.InvalidParam("aws.isolate_instance needs a quarantine security group: the quarantine_security_group param or connection option")
	}
	if !groupRe.MatchString(quarantine) {
		return nil, connector.InvalidParam("aws.isolate_instance: %q is not a security group id (sg-…)", quarantine)
	}
	wrap := func(err error) error { return fmt.Errorf("isolating instance %s: %w", id, err) }
	cl, err := newClients(ctx, c)
	if err != nil {
		return nil, wrap(err)
	}
	v, err := describeInstance(ctx, c, cl, id)
	if err != nil {
		return nil, wrap(err)
	}
	if len(v.enis) == 0 {
		return nil, wrap(connector.NewFailure(connector.KindRejected, fmt.Sprintf("instance %s has no network interface in %s (EC2-Classic or terminated)", id, c.Where())))
	}
	isolated := func(e string) bool { return len(v.groups[e]) == 1 && v.groups[e][0] == quarantine }
	// The record is written before any change, and never overwritten by
	// a retry: it holds the groups from before the first attempt.
	prev, recorded := decodeGroups(v.tags[TagPreviousGroups])
	if !recorded {
		prev = v.groups
		val := encodeGroups(v.enis, v.groups)
		if len(val) > 256 {
			return nil, wrap(connector.NewFailure(connector.KindRejected, fmt.Sprintf("instance %s has too many security groups to record in a tag (%d characters); isolate it by hand", id, len(val))))
		}
		if _, err := cl.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{{Key: awssdk.String(TagPreviousGroups), Value: awssdk.String(val)}}}); err != nil {
			return nil, wrap(classify(c, "CreateTags", err))
		}
	}
	out := map[string]any{"instance_id": id, "network_interfaces": toAny(v.enis), "previous_security_groups": groupsOut(v.enis, prev), "already": true}
	after := map[string][]string{}
	for _, e := range v.enis {
		after[e] = []string{quarantine}
		if isolated(e) {
			continue
		}
		out["already"] = false
		if _, err := cl.ec2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: awssdk.String(e), Groups: []string{quarantine}}); err != nil {
			return nil, wrap(classify(c, "ModifyNetworkInterfaceAttribute", err))
		}
	}
	out["security_groups"] = groupsOut(v.enis, after)
	c.LogAction("isolated instance", "instance_id", id, "quarantine", quarantine)
	return out, nil
}

func restoreInstance(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	id, _, err := instanceParams(c)
	if err != nil {
		return nil, err
	}
	wrap := func(err error) error { return fmt.Errorf("restoring instance %s: %w", id, err) }
	cl, err := newClients(ctx, c)
	if err != nil {
		return nil, wrap(err)
	}
	v, err := describeInstance(ctx, c, cl, id)
	if err != nil {
		return nil, wrap(err)
	}
	out := map[string]any{"instance_id": id, "network_interfaces": toAny(v.enis), "previous_security_groups": groupsOut(v.enis, v.groups), "already": true}
	prev, recorded := decodeGroups(v.tags[TagPreviousGroups])
	if !recorded {
		if _, has := v.tags[TagPreviousGroups]; has {
			return nil, wrap(connector.NewFailure(connector.KindRejected, fmt.Sprintf("the %s tag of instance %s is unreadable (%q); restore its security groups by hand", TagPreviousGroups, id, v.tags[TagPreviousGroups])))
		}
		// Nothing recorded: never isolated by Riposte, or already restored.
		out["security_groups"] = groupsOut(v.enis, v.groups)
		return out, nil
	}
	enis := make([]string, 0, len(prev))
	for e := range prev {
		enis = append(enis, e)
	}
	sort.Strings(enis)
	for _, e := range enis {
		if strings.Join(v.groups[e], "+") == strings.Join(prev[e], "+") {
			continue
		}
		out["already"] = false
		if _, err := cl.ec2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: awssdk.String(e), Groups: prev[e]}); err != nil {
			return nil, wrap(classify(c, "ModifyNetworkInterfaceAttribute", err))
		}
	}
	// The record goes last: a retry after a failure above still has it.
	if _, err := cl.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{{Key: awssdk.String(TagPreviousGroups)}}}); err != nil {
		return nil, wrap(classify(c, "DeleteTags", err))
	}
	out["security_groups"] = groupsOut(v.enis, prev)
	c.LogAction("restored instance security groups", "instance_id", id)
	return out, nil
}

// --- snapshots ---

func snapshotInstance(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	id, err := connector.RequireString(c.Call, "instance_id")
	if err != nil {
		return nil, err
	}
	if !instanceRe.MatchString(id) {
		return nil, connector.InvalidParam("%s: %q is not an instance id (i-…)", c.Call.Action, id)
	}
	desc, err := connector.OptString(c.Call, "description", fmt.Sprintf("Riposte evidence: workflow %s step %s", c.Call.WorkflowID, c.Call.StepID))
	if err != nil {
		return nil, err
	}
	if len(desc) > 255 {
		desc = desc[:255]
	}
	wrap := func(err error) error { return fmt.Errorf("snapshotting instance %s: %w", id, err) }
	cl, err := newClients(ctx, c)
	if err != nil {
		return nil, wrap(err)
	}
	out := map[string]any{"instance_id": id, "snapshot_ids": []any{}, "already": false}
	mark := ""
	if key := connector.IdemKey(c.Call); key != "" {
		mark = connector.ShortHash(key, 16)
		res, err := cl.ec2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"},
			Filters: []ec2types.Filter{{Name: awssdk.String("tag:" + TagStep), Values: []string{mark}}}})
		if err != nil {
			return nil, wrap(classify(c, "DescribeSnapshots", err))
		}
		if len(res.Snapshots) > 0 {
			ids := []any{}
			for _, s := range res.Snapshots {
				ids = append(ids, awssdk.ToString(s.SnapshotId))
			}
			out["snapshot_ids"], out["already"] = ids, true
			return out, nil
		}
	}
	in := &ec2.CreateSnapshotsInput{
		InstanceSpecification: &ec2types.InstanceSpecification{InstanceId: awssdk.String(id)},
		Description:           awssdk.String(desc),
		CopyTagsFromSource:    ec2types.CopyTagsFromSourceVolume,
	}
	if mark != "" {
		in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSnapshot, Tags: []ec2types.Tag{{Key: awssdk.String(TagStep), Value: awssdk.String(mark)}}}}
	}
	res, err := cl.ec2.CreateSnapshots(ctx, in)
	if err != nil {
		return nil, wrap(classify(c, "CreateSnapshots", err))
	}
	ids := []any{}
	for _, s := range res.Snapshots {
		ids = append(ids, awssdk.ToString(s.SnapshotId))
	}
	out["snapshot_ids"] = ids
	c.LogAction("took snapshots", "instance_id", id, "snapshots", len(ids))
	return out, nil
}

func toAny(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

func iamStatus(s string) iamtypes.StatusType { return iamtypes.StatusType(s) }

// check resolves the credentials (assuming role_arn), asks STS who they
// are, and asks EC2 with DryRun whether DescribeInstances and
// CreateSnapshots are allowed: DryRunOperation means allowed,
// UnauthorizedOperation means missing (EC2 API reference, "DryRun").
func check(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	cl, err := newClients(ctx, c)
	if err != nil {
		return nil, err
	}
	who, err := cl.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, classify(c, "GetCallerIdentity", err)
	}
	var missing []string
	dry := func(op string, err error) error {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			switch ae.ErrorCode() {
			case "DryRunOperation":
				return nil
			case "UnauthorizedOperation":
				missing = append(missing, "ec2:"+op)
				return nil
			}
		}
		if err == nil {
			return nil
		}
		return classify(c, op, err)
	}
	if err := dry("DescribeInstances", func() error {
		_, err := cl.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{DryRun: awssdk.Bool(true), MaxResults: awssdk.Int32(5)})
		return err
	}()); err != nil {
		return nil, err
	}
	detail := "credentials of " + awssdk.ToString(who.Arn)
	if len(missing) > 0 {
		return nil, connector.NewFailure(connector.KindAuth, fmt.Sprintf("%s: %s may not call %s", c.Where(), awssdk.ToString(who.Arn), strings.Join(missing, ", ")))
	}
	return map[string]any{"detail": detail + "; ec2:DescribeInstances allowed (IAM permissions are checked when an action runs)"}, nil
}
