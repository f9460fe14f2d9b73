package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riposte-dev/riposte/workflows"
)

// NamespaceAPI is the part of Temporal's workflow service that namespace
// setup uses (client.Client.WorkflowService() satisfies it).
type NamespaceAPI interface {
	DescribeNamespace(ctx context.Context, in *workflowservice.DescribeNamespaceRequest, opts ...grpc.CallOption) (*workflowservice.DescribeNamespaceResponse, error)
	RegisterNamespace(ctx context.Context, in *workflowservice.RegisterNamespaceRequest, opts ...grpc.CallOption) (*workflowservice.RegisterNamespaceResponse, error)
	UpdateNamespace(ctx context.Context, in *workflowservice.UpdateNamespaceRequest, opts ...grpc.CallOption) (*workflowservice.UpdateNamespaceResponse, error)
	CountWorkflowExecutions(ctx context.Context, in *workflowservice.CountWorkflowExecutionsRequest, opts ...grpc.CallOption) (*workflowservice.CountWorkflowExecutionsResponse, error)
}

// SearchAttributeAPI is the part of Temporal's operator service that
// namespace setup uses (client.Client.OperatorService() satisfies it).
type SearchAttributeAPI interface {
	ListSearchAttributes(ctx context.Context, in *operatorservice.ListSearchAttributesRequest, opts ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error)
	AddSearchAttributes(ctx context.Context, in *operatorservice.AddSearchAttributesRequest, opts ...grpc.CallOption) (*operatorservice.AddSearchAttributesResponse, error)
}

// SetupOptions says what `riposte setup` prepares.
type SetupOptions struct {
	Namespace string
	Retention time.Duration
	// Shorten allows setting an existing namespace's retention below what
	// it has: Temporal then deletes the closed runs (the audit trail) older
	// than the new retention. Without it a shorter Retention only applies
	// to a namespace setup creates, so re-running setup with the default
	// never cuts a retention an operator raised.
	Shorten bool
	// Wait bounds the retries while the namespace is not yet visible to the
	// frontend that answers (namespace caches refresh every few seconds).
	Wait time.Duration
	// Settle is how long to wait after search attributes were added, so
	// that every frontend and history host has them before the first run
	// (their caches refresh on a timer). Zero: no wait.
	Settle time.Duration
	// Poll is the retry interval (default 1s).
	Poll time.Duration
	Out  io.Writer
}

// SetupReport is what Setup did.
type SetupReport struct {
	CreatedNamespace bool
	UpdatedRetention bool
	Added            []string
	// ByHand lists what the server refused to do through its API (Temporal
	// Cloud manages namespaces and search attributes with its own tools):
	// commands for an operator to run, one a line.
	ByHand []string
}

// ErrRefused marks a setup that the server refused in part: the report's
// ByHand says what to do by hand.
var ErrRefused = errors.New("the Temporal server refused part of the setup")

// refused reports whether err is the server saying "not through this API"
// (Temporal Cloud answers PermissionDenied or Unimplemented for namespace
// and search-attribute administration through the data plane).
func refused(err error) bool {
	var pd *serviceerror.PermissionDenied
	var un *serviceerror.Unimplemented
	if errors.As(err, &pd) || errors.As(err, &un) {
		return true
	}
	switch status.Code(err) {
	case codes.PermissionDenied, codes.Unimplemented:
		return true
	}
	return false
}

func notFound(err error) bool {
	var nf *serviceerror.NamespaceNotFound
	var nf2 *serviceerror.NotFound
	return errors.As(err, &nf) || errors.As(err, &nf2) || status.Code(err) == codes.NotFound
}

// MinRetention is Temporal's shortest namespace retention.
const MinRetention = 24 * time.Hour

// CheckRetention refuses a retention Temporal would refuse; riposte setup
// checks its flag with it before connecting.
func CheckRetention(d time.Duration) error {
	if d < MinRetention {
		return fmt.Errorf("retention %s is below Temporal's minimum of %s", d, MinRetention)
	}
	return nil
}

// Setup creates the namespace with its retention (or sets the retention of
// an existing one) and registers Riposte's search attributes on it. Every
// step is idempotent. Where the server refuses (Temporal Cloud), Setup
// carries on with what it can check and returns ErrRefused with the
// commands to run by hand in the report.
func Setup(ctx context.Context, ns NamespaceAPI, op SearchAttributeAPI, o SetupOptions) (SetupReport, error) {
	var rep SetupReport
	if o.Namespace == "" {
		return rep, errors.New("no namespace given")
	}
	if err := CheckRetention(o.Retention); err != nil {
		return rep, err
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	days := int((o.Retention + 24*time.Hour - 1) / (24 * time.Hour))

	desc, err := ns.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: o.Namespace})
	switch {
	case err == nil:
		cur := desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
		if cur == o.Retention {
			fmt.Fprintf(out, "Namespace %s exists (retention %s)\n", o.Namespace, cur)
			break
		}
		if cur > o.Retention && !o.Shorten {
			fmt.Fprintf(out, "Namespace %s exists; it keeps its retention of %s, longer than the %s asked (pass --retention %s to shorten it: closed runs older than that are then deleted)\n",
				o.Namespace, cur, o.Retention, o.Retention)
			break
		}
		fmt.Fprintf(out, "Namespace %s exists; setting its retention from %s to %s\n", o.Namespace, cur, o.Retention)
		_, err := ns.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
			Namespace: o.Namespace,
			Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(o.Retention)},
		})
		switch {
		case err == nil:
			rep.UpdatedRetention = true
		case refused(err):
			rep.ByHand = append(rep.ByHand, fmt.Sprintf("tcld namespace retention set --namespace %s --retention-days %d", o.Namespace, days))
			fmt.Fprintf(out, "  the server refused to change the retention (%v): set it with the Cloud's tools\n", err)
		default:
			return rep, fmt.Errorf("setting the retention of namespace %s: %w", o.Namespace, err)
		}
	case notFound(err):
		fmt.Fprintf(out, "Creating namespace %s (retention %s)\n", o.Namespace, o.Retention)
		_, err := ns.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace:                        o.Namespace,
			Description:                      "Riposte automated response runs",
			WorkflowExecutionRetentionPeriod: durationpb.New(o.Retention),
		})
		var exists *serviceerror.NamespaceAlreadyExists
		switch {
		case err == nil:
			rep.CreatedNamespace = true
		case errors.As(err, &exists):
			// Another setup created it in between: fine.
		case refused(err):
			rep.ByHand = append(rep.ByHand, fmt.Sprintf("tcld namespace create --namespace %s --retention-days %d   (or the Cloud UI: Namespaces → Create)", o.Namespace, days))
			rep.ByHand = append(rep.ByHand, searchAttributeCommands(o.Namespace, sortedAttributes(workflows.SearchAttributeTypes()))...)
			return rep, fmt.Errorf("%w: creating namespace %s: %v", ErrRefused, o.Namespace, err)
		default:
			return rep, fmt.Errorf("creating namespace %s: %w", o.Namespace, err)
		}
	case refused(err):
		return rep, fmt.Errorf("%w: describing namespace %s: %v (check the API key or certificate's permissions on it)", ErrRefused, o.Namespace, err)
	default:
		return rep, fmt.Errorf("describing namespace %s: %w", o.Namespace, err)
	}

	// The frontend that answers next may not know a namespace created a
	// moment ago: retry until it does, saying why.
	want := workflows.SearchAttributeTypes()
	var have map[string]enumspb.IndexedValueType
	if err := retryNotFound(ctx, o, out, "listing search attributes", func() error {
		resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: o.Namespace})
		have = resp.GetCustomAttributes()
		return err
	}); err != nil {
		if refused(err) {
			rep.ByHand = append(rep.ByHand, searchAttributeCommands(o.Namespace, sortedAttributes(want))...)
			return rep, fmt.Errorf("%w: listing search attributes of %s: %v", ErrRefused, o.Namespace, err)
		}
		return rep, err
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, name := range sortedAttributes(want) {
		typ := want[name]
		got, ok := have[name]
		switch {
		case !ok:
			missing[name] = typ
		case got != typ:
			return rep, fmt.Errorf("search attribute %s has type %s in namespace %s; Riposte needs %s (a search attribute's type cannot change: remove it with `temporal operator search-attribute remove` or use another namespace)", name, got, o.Namespace, typ)
		default:
			fmt.Fprintf(out, "Search attribute %s exists\n", name)
		}
	}
	if len(missing) > 0 {
		names := sortedAttributes(missing)
		fmt.Fprintf(out, "Registering search attributes %s\n", strings.Join(names, ", "))
		err := retryNotFound(ctx, o, out, "registering search attributes", func() error {
			_, err := op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: o.Namespace, SearchAttributes: missing})
			return err
		})
		var exists *serviceerror.AlreadyExists
		switch {
		case err == nil, errors.As(err, &exists):
			rep.Added = names
		case refused(err):
			rep.ByHand = append(rep.ByHand, searchAttributeCommands(o.Namespace, names)...)
			return rep, fmt.Errorf("%w: registering search attributes on %s: %v", ErrRefused, o.Namespace, err)
		default:
			return rep, err
		}
	}

	// Visible means usable: a visibility query naming every attribute is
	// refused until the answering frontend knows them all.
	var clauses []string
	for _, name := range sortedAttributes(want) {
		clauses = append(clauses, fmt.Sprintf("%s IS NOT NULL", name))
	}
	query := strings.Join(clauses, " OR ")
	if err := retryNotFound(ctx, o, out, "checking the search attributes are queryable", func() error {
		_, err := ns.CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: o.Namespace, Query: query})
		var inv *serviceerror.InvalidArgument
		if errors.As(err, &inv) {
			return &serviceerror.NotFound{Message: err.Error()}
		}
		return err
	}); err != nil {
		return rep, err
	}
	if len(rep.Added) > 0 && o.Settle > 0 {
		fmt.Fprintf(out, "Waiting %s for every Temporal host to refresh its search attribute cache\n", o.Settle)
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(o.Settle):
		}
	}
	fmt.Fprintf(out, "Namespace %s is ready for Riposte\n", o.Namespace)
	return rep, nil
}

// retryNotFound calls f until it stops answering "not found" (the
// namespace is not yet visible to this frontend), for at most o.Wait.
func retryNotFound(ctx context.Context, o SetupOptions, out io.Writer, what string, f func() error) error {
	deadline := time.Now().Add(o.Wait)
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || !notFound(err) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: namespace %s is still not visible after %s (%d attempts): %w; is the Temporal server healthy?", what, o.Namespace, o.Wait, attempt, err)
		}
		if attempt == 1 || attempt%10 == 0 {
			fmt.Fprintf(out, "  %s: namespace %s not visible to the frontend yet (%v); retrying for up to %s\n", what, o.Namespace, err, o.Wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.Poll):
		}
	}
}

func sortedAttributes(m map[string]enumspb.IndexedValueType) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// searchAttributeCommands are the Temporal Cloud commands that add the
// named attributes.
func searchAttributeCommands(ns string, names []string) []string {
	want := workflows.SearchAttributeTypes()
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, fmt.Sprintf("tcld namespace search-attributes add --namespace %s --search-attribute %q", ns, n+"="+cloudTypeName(want[n])))
	}
	return out
}

// cloudTypeName is the type name tcld and the temporal CLI take.
func cloudTypeName(t enumspb.IndexedValueType) string {
	switch t {
	case enumspb.INDEXED_VALUE_TYPE_KEYWORD:
		return "Keyword"
	case enumspb.INDEXED_VALUE_TYPE_INT:
		return "Int"
	case enumspb.INDEXED_VALUE_TYPE_DATETIME:
		return "Datetime"
	case enumspb.INDEXED_VALUE_TYPE_TEXT:
		return "Text"
	case enumspb.INDEXED_VALUE_TYPE_BOOL:
		return "Bool"
	case enumspb.INDEXED_VALUE_TYPE_DOUBLE:
		return "Double"
	case enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST:
		return "KeywordList"
	}
	return t.String()
}
