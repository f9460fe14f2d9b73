package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"
)

const pollInterval = 100 * time.Millisecond

// dialClient connects an SDK client to the frontend, retrying until the
// frontend answers its health check or ctx ends.
func dialClient(ctx context.Context, hostPort, namespace string, logger *slog.Logger) (client.Client, error) {
	c, err := client.NewLazyClient(client.Options{
		HostPort:  hostPort,
		Namespace: namespace,
		Logger:    sdkLogger(logger, slog.LevelWarn),
	})
	if err != nil {
		return nil, fmt.Errorf("creating client for %s: %w", hostPort, err)
	}
	err = retry(ctx, func() error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("frontend %s not answering: %w", hostPort, err)
	}
	return c, nil
}

// ensureNamespace registers the namespace with the given retention, or
// updates the retention of an existing one if it differs.
func ensureNamespace(ctx context.Context, c client.Client, name string, retention time.Duration) error {
	ws := c.WorkflowService()
	return retry(ctx, func() error {
		desc, err := ws.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: name})
		var notFound *serviceerror.NamespaceNotFound
		switch {
		case errors.As(err, &notFound):
			_, err = ws.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
				Namespace:                        name,
				Description:                      "Created by riposte dev server",
				WorkflowExecutionRetentionPeriod: durationpb.New(retention),
			})
			var exists *serviceerror.NamespaceAlreadyExists
			if errors.As(err, &exists) {
				return errRetry // registered concurrently: describe again
			}
			return err
		case err != nil:
			return err
		}
		if desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() == retention {
			return nil
		}
		_, err = ws.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
			Namespace: name,
			Config: &namespacepb.NamespaceConfig{
				WorkflowExecutionRetentionTtl: durationpb.New(retention),
			},
		})
		return err
	})
}

// ensureSearchAttributes registers the custom search attributes that are not
// registered yet, refuses type conflicts with existing ones, and waits until
// all of them are listed.
func ensureSearchAttributes(ctx context.Context, c client.Client, namespace string, want map[string]enums.IndexedValueType) (added bool, err error) {
	if len(want) == 0 {
		return false, nil
	}
	ops := c.OperatorService()
	list := func() (*operatorservice.ListSearchAttributesResponse, error) {
		var resp *operatorservice.ListSearchAttributesResponse
		err := retry(ctx, func() (err error) {
			resp, err = ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
			return err
		})
		return resp, err
	}

	existing, err := list()
	if err != nil {
		return false, fmt.Errorf("listing: %w", err)
	}
	missing := map[string]enums.IndexedValueType{}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		typ := want[name]
		if sys, ok := existing.GetSystemAttributes()[name]; ok {
			return false, fmt.Errorf("%q is a system search attribute (type %v)", name, sys)
		}
		have, ok := existing.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case have != typ:
			return false, fmt.Errorf("%q is already registered with type %v, not %v", name, have, typ)
		}
	}
	if len(missing) > 0 {
		err := retry(ctx, func() error {
			_, err := ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
				Namespace:        namespace,
				SearchAttributes: missing,
			})
			return err
		})
		if err != nil {
			return false, fmt.Errorf("adding %v: %w", slices.Sorted(maps.Keys(missing)), err)
		}
	}

	// Wait until every attribute is listed with the right type.
	return len(missing) > 0, retry(ctx, func() error {
		resp, err := list()
		if err != nil {
			return err
		}
		for name, typ := range want {
			if resp.GetCustomAttributes()[name] != typ {
				return fmt.Errorf("%q not registered yet: %w", name, errRetry)
			}
		}
		return nil
	})
}

// waitNamespaceUsable waits until a visibility query in the namespace, which
// goes through the namespace registry and the visibility store, succeeds.
func waitNamespaceUsable(ctx context.Context, c client.Client, namespace string) error {
	return retry(ctx, func() error {
		_, err := c.WorkflowService().CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: namespace,
		})
		return err
	})
}

// errRetry marks a condition that is expected to clear up by itself.
var errRetry = errors.New("not ready yet")

// retry calls f until it succeeds, fails with a permanent error, or ctx ends.
func retry(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		if !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-time.After(pollInterval):
		}
	}
}

// retryable reports whether err is a transient error seen while the services
// finish starting up.
func retryable(err error) bool {
	if errors.Is(err, errRetry) {
		return true
	}
	var (
		unavailable *serviceerror.Unavailable
		nsNotFound  *serviceerror.NamespaceNotFound
		notFound    *serviceerror.NotFound
		deadline    *serviceerror.DeadlineExceeded
		exhausted   *serviceerror.ResourceExhausted
		internal    *serviceerror.Internal
	)
	return errors.As(err, &unavailable) || errors.As(err, &nsNotFound) || errors.As(err, &notFound) ||
		errors.As(err, &deadline) || errors.As(err, &exhausted) || errors.As(err, &internal)
}
