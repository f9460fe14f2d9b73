// Package aws is the AWS connector: IAM access keys and role sessions,
// EC2 instance isolation and snapshots, through the AWS SDK for Go v2 with
// its standard credential chain (env, shared config/SSO, ECS/EC2 roles) or
// a static key, and an optional role assumed per connection.
package aws

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
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
		Needs: "iam:GetAccessKeyLastUsed, iam:ListAccessKeys, iam:UpdateAccessKey, iam:GetRolePolicy, iam:PutRolePolicy, iam:DeleteRolePolicy, ec2:DescribeInstances, ec2:CreateTags, ec2:DeleteTags, ec2:ModifyNetworkInterfaceAttribute, ec2:CreateSnapshots, ec2:DescribeSnapshots (and sts:AssumeRole on role_arn)"}
}

// Tags Riposte writes on instances and snapshots.
const (
	// TagPreviousGroups records an isolated instance's security groups per
	// network interface ("eni-1=sg-a+sg-b;eni-2=sg-c"), for the undo.
	TagPreviousGroups = "riposte:previous-security-groups"
	// TagQuarantineGroup names the quarantine group of the isolation
	// TagPreviousGroups belongs to: while no interface has it alone, that
	// isolation was released (by hand, in the console) and the record is
	// stale.
	TagQuarantineGroup = "riposte:quarantine-security-group"
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
				Description: "Deactivates an IAM access key (UpdateAccessKey Status=Inactive): requests signed with it fail. Needs iam:ListAccessKeys and iam:UpdateAccessKey, and iam:GetAccessKeyLastUsed when user_name is not given.",
				Params:      keyParams, Outputs: keyOutputs},
			Run: connector.Run(Type, "AWS", false, func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				return setKeyStatus(ctx, c, "Inactive")
			}),
		},
		{
			Action: catalog.Action{Name: "aws.enable_access_key", Vendor: "aws", Risk: catalog.RiskContain, Undo: "aws.disable_access_key",
				Description: "Reactivates an IAM access key (UpdateAccessKey Status=Active). Needs iam:ListAccessKeys and iam:UpdateAccessKey, and iam:GetAccessKeyLastUsed when user_name is not given.",
				Params:      keyParams, Outputs: keyOutputs},
			Run: connector.Run(Type, "AWS", false, func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				return setKeyStatus(ctx, c, "Active")
			}),
		},
		{
			Action: catalog.Action{Name: "aws.revoke_role_sessions", Vendor: "aws", Risk: catalog.RiskContain, Undo: "aws.restore_role_sessions",
				Description: "Revokes the role's active sessions: an inline policy " + RevokePolicyName + " denies every action to credentials issued before now (aws:TokenIssueTime), as the IAM console's Revoke sessions does, in a statement of this run's own next to other runs' revocations. New sessions work. Needs iam:PutRolePolicy and iam:GetRolePolicy.",
				Params:      roleParams, Outputs: roleOutputs},
			Run: connector.Run(Type, "AWS", false, revokeSessions),
		},
		{
			Action: catalog.Action{Name: "aws.restore_role_sessions", Vendor: "aws", Risk: catalog.RiskContain, Undo: "aws.revoke_role_sessions",
				Description: "Removes this run's revocation from the " + RevokePolicyName + " inline policy aws.revoke_role_sessions put, so sessions issued before it work again (if not expired), unless another run's revocation, which stays, still denies them; the policy goes with the last one. Needs iam:PutRolePolicy and iam:DeleteRolePolicy.",
				Params:      roleParams, Outputs: roleOutputs},
			Run: connector.Run(Type, "AWS", false, restoreSessions),
		},
		{
			Action: catalog.Action{Name: "aws.isolate_instance", Vendor: "aws", Risk: catalog.RiskContain, Undo: "aws.restore_instance",
				Description: "Isolates an EC2 instance: every network interface gets only the quarantine security group; the previous groups are recorded in the instance tag " + TagPreviousGroups + " first (a record left by an isolation released by hand is replaced); an instance isolated into another quarantine group fails without retry and is left as is. Connections already tracked may persist until they close (AWS security group connection tracking). Needs ec2:DescribeInstances, ec2:CreateTags, ec2:ModifyNetworkInterfaceAttribute.",
				Params:      instParams, Outputs: instOutputs},
			Run: connector.Run(Type, "AWS", false, isolateInstance),
		},
		{
			Action: catalog.Action{Name: "aws.restore_instance", Vendor: "aws", Risk: catalog.RiskContain, Undo: "aws.isolate_instance",
				Description: "Puts back the security groups recorded by aws.isolate_instance and removes the record tags. An instance none of whose interfaces is still in quarantine (released by hand) keeps the groups it has; only the stale record is removed. Needs ec2:DescribeInstances, ec2:ModifyNetworkInterfaceAttribute, ec2:DeleteTags.",
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

var (
	accessKeyRe = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	nameRe      = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	instanceRe  = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)
	groupRe     = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
)

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
