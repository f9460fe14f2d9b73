package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/riposte-dev/riposte/internal/connector"
)

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
	case code == "ConcurrentModification" || code == "ConcurrentModificationException":
		// IAM: "multiple requests to change this object were submitted
		// simultaneously. Wait a few minutes and submit your request
		// again" (409, IAM API reference, Common Errors).
		f := connector.NewFailure(connector.KindUnavailable, fmt.Sprintf("%s is busy changing the same object (%s)", c.Where(), detail))
		f.Delay = 30 * time.Second
		return f
	case status >= 500 || code == "InternalFailure" || code == "ServiceUnavailable" || code == "InternalError":
		return connector.NewFailure(connector.KindUnavailable, fmt.Sprintf("%s is unavailable (%s)", c.Where(), detail))
	case status >= 400 || code != "":
		return connector.NewFailure(connector.KindRejected, fmt.Sprintf("%s rejected %s", c.Where(), detail))
	}
	// No answer: a transport error or timeout.
	return connector.NewFailure(connector.KindNetwork, fmt.Sprintf("calling %s: %s", c.Where(), detail))
}
