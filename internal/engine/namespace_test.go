package engine

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riposte-dev/riposte/workflows"
)

// fakeTemporal answers like a Temporal frontend: a namespace registered a
// moment ago stays invisible for `lag` calls, and a Cloud-like server
// refuses administration with PermissionDenied.
type fakeTemporal struct {
	exists    bool
	retention time.Duration
	lag       int
	attrs     map[string]enumspb.IndexedValueType
	cloud     bool
	calls     []string
}

func (f *fakeTemporal) visible() error {
	if !f.exists {
		return serviceerror.NewNamespaceNotFound("riposte")
	}
	if f.lag > 0 {
		f.lag--
		return serviceerror.NewNamespaceNotFound("riposte")
	}
	return nil
}

func (f *fakeTemporal) DescribeNamespace(_ context.Context, in *workflowservice.DescribeNamespaceRequest, _ ...grpc.CallOption) (*workflowservice.DescribeNamespaceResponse, error) {
	f.calls = append(f.calls, "describe")
	if !f.exists {
		return nil, serviceerror.NewNamespaceNotFound(in.Namespace)
	}
	return &workflowservice.DescribeNamespaceResponse{Config: &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(f.retention)}}, nil
}

func (f *fakeTemporal) RegisterNamespace(_ context.Context, in *workflowservice.RegisterNamespaceRequest, _ ...grpc.CallOption) (*workflowservice.RegisterNamespaceResponse, error) {
	f.calls = append(f.calls, "register")
	if f.cloud {
		return nil, serviceerror.NewPermissionDenied("namespace administration is not allowed", "")
	}
	f.exists, f.retention = true, in.WorkflowExecutionRetentionPeriod.AsDuration()
	return &workflowservice.RegisterNamespaceResponse{}, nil
}

func (f *fakeTemporal) UpdateNamespace(_ context.Context, in *workflowservice.UpdateNamespaceRequest, _ ...grpc.CallOption) (*workflowservice.UpdateNamespaceResponse, error) {
	f.calls = append(f.calls, "update")
	if f.cloud {
		return nil, serviceerror.NewPermissionDenied("namespace administration is not allowed", "")
	}
	f.retention = in.Config.WorkflowExecutionRetentionTtl.AsDuration()
	return &workflowservice.UpdateNamespaceResponse{}, nil
}

func (f *fakeTemporal) CountWorkflowExecutions(context.Context, *workflowservice.CountWorkflowExecutionsRequest, ...grpc.CallOption) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	f.calls = append(f.calls, "count")
	if err := f.visible(); err != nil {
		return nil, err
	}
	for name := range workflows.SearchAttributeTypes() {
		if _, ok := f.attrs[name]; !ok {
			return nil, serviceerror.NewInvalidArgument("invalid query: unknown search attribute " + name)
		}
	}
	return &workflowservice.CountWorkflowExecutionsResponse{}, nil
}

func (f *fakeTemporal) ListSearchAttributes(context.Context, *operatorservice.ListSearchAttributesRequest, ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error) {
	f.calls = append(f.calls, "list")
	if err := f.visible(); err != nil {
		return nil, err
	}
	return &operatorservice.ListSearchAttributesResponse{CustomAttributes: f.attrs}, nil
}

func (f *fakeTemporal) AddSearchAttributes(_ context.Context, in *operatorservice.AddSearchAttributesRequest, _ ...grpc.CallOption) (*operatorservice.AddSearchAttributesResponse, error) {
	f.calls = append(f.calls, "add")
	if f.cloud {
		return nil, serviceerror.NewPermissionDenied("use tcld", "")
	}
	if f.attrs == nil {
		f.attrs = map[string]enumspb.IndexedValueType{}
	}
	for k, v := range in.SearchAttributes {
		f.attrs[k] = v
	}
	return &operatorservice.AddSearchAttributesResponse{}, nil
}

func setupOpts(out *bytes.Buffer) SetupOptions {
	return SetupOptions{Namespace: "riposte", Retention: 168 * time.Hour, Wait: 5 * time.Second, Poll: time.Millisecond, Out: out}
}

func TestSetupCreatesWaitsAndIsIdempotent(t *testing.T) {
	f := &fakeTemporal{lag: 3}
	var out bytes.Buffer
	rep, err := Setup(context.Background(), f, f, setupOpts(&out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !rep.CreatedNamespace || len(rep.Added) != len(workflows.SearchAttributeTypes()) || f.retention != 168*time.Hour {
		t.Fatalf("report %+v, retention %s", rep, f.retention)
	}
	if !strings.Contains(out.String(), "not visible to the frontend yet") {
		t.Errorf("no retry message while the namespace was invisible:\n%s", out.String())
	}
	// Second run: nothing to do.
	out.Reset()
	f.calls = nil
	rep, err = Setup(context.Background(), f, f, setupOpts(&out))
	if err != nil || rep.CreatedNamespace || rep.UpdatedRetention || len(rep.Added) != 0 {
		t.Fatalf("second run: %+v %v", rep, err)
	}
	for _, c := range f.calls {
		if c == "register" || c == "update" || c == "add" {
			t.Errorf("second run called %s", c)
		}
	}
	// A changed retention is applied to the existing namespace.
	o := setupOpts(&out)
	o.Retention = 30 * 24 * time.Hour
	if rep, err = Setup(context.Background(), f, f, o); err != nil || !rep.UpdatedRetention || f.retention != o.Retention {
		t.Fatalf("retention update: %+v %v %s", rep, err, f.retention)
	}
	// Re-running setup with the default (a compose up, an upgrade) never
	// cuts a longer retention: closed runs would be deleted. An explicit
	// --retention (Shorten) does.
	out.Reset()
	o = setupOpts(&out)
	if rep, err = Setup(context.Background(), f, f, o); err != nil || rep.UpdatedRetention || f.retention != 30*24*time.Hour {
		t.Fatalf("default re-run shortened the retention: %+v %v %s", rep, err, f.retention)
	}
	if !strings.Contains(out.String(), "keeps its retention of 720h0m0s, longer than the 168h0m0s asked (pass --retention 168h0m0s to shorten it") {
		t.Errorf("no word of the kept retention:\n%s", out.String())
	}
	o.Shorten = true
	if rep, err = Setup(context.Background(), f, f, o); err != nil || !rep.UpdatedRetention || f.retention != 168*time.Hour {
		t.Fatalf("explicit shortening: %+v %v %s", rep, err, f.retention)
	}
}

func TestSetupGivesUpWithAClearMessage(t *testing.T) {
	f := &fakeTemporal{lag: 1 << 30}
	var out bytes.Buffer
	o := setupOpts(&out)
	o.Wait = 50 * time.Millisecond
	_, err := Setup(context.Background(), f, f, o)
	if err == nil || !strings.Contains(err.Error(), "still not visible after") {
		t.Fatalf("err %v", err)
	}
}

func TestSetupOnCloudPrintsWhatToDoByHand(t *testing.T) {
	// Namespace missing: nothing can be done, the commands are given.
	f := &fakeTemporal{cloud: true}
	var out bytes.Buffer
	rep, err := Setup(context.Background(), f, f, setupOpts(&out))
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("err %v", err)
	}
	if len(rep.ByHand) != 1+len(workflows.SearchAttributeTypes()) || !strings.Contains(rep.ByHand[0], "tcld namespace create --namespace riposte --retention-days 7") {
		t.Fatalf("by hand: %q", rep.ByHand)
	}
	// Namespace there (created in the Cloud UI), attributes refused.
	f = &fakeTemporal{cloud: true, exists: true, retention: 168 * time.Hour}
	rep, err = Setup(context.Background(), f, f, setupOpts(&out))
	if !errors.Is(err, ErrRefused) || len(rep.ByHand) != len(workflows.SearchAttributeTypes()) {
		t.Fatalf("%v %q", err, rep.ByHand)
	}
	if !strings.Contains(strings.Join(rep.ByHand, "\n"), `--search-attribute "PlaybookVersion=Int"`) {
		t.Errorf("by hand: %q", rep.ByHand)
	}
}

func TestSetupRefusesAWrongType(t *testing.T) {
	f := &fakeTemporal{exists: true, retention: 168 * time.Hour, attrs: map[string]enumspb.IndexedValueType{"PlaybookVersion": enumspb.INDEXED_VALUE_TYPE_KEYWORD}}
	var out bytes.Buffer
	_, err := Setup(context.Background(), f, f, setupOpts(&out))
	if err == nil || !strings.Contains(err.Error(), "PlaybookVersion has type") {
		t.Fatalf("err %v", err)
	}
}
