package engine

import (
	"context"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/mocks"
	"google.golang.org/grpc"

	"github.com/riposte-dev/riposte/workflows"
)

// operatorOf is the operator service of a fakeTemporal.
type operatorOf struct {
	operatorservice.OperatorServiceClient // nil: only the methods below are called
	*fakeTemporal
}

func (o operatorOf) ListSearchAttributes(ctx context.Context, in *operatorservice.ListSearchAttributesRequest, _ ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error) {
	return o.fakeTemporal.ListSearchAttributes(ctx, in)
}

func (o operatorOf) AddSearchAttributes(ctx context.Context, in *operatorservice.AddSearchAttributesRequest, _ ...grpc.CallOption) (*operatorservice.AddSearchAttributesResponse, error) {
	return o.fakeTemporal.AddSearchAttributes(ctx, in)
}

// Workers refuse to start on a namespace without Riposte's search
// attributes, naming them and the two ways to register them; with
// --register-search-attributes they add only the missing ones; an
// attribute of the wrong type is refused either way (README, Production).
func TestWorkersNeedTheSearchAttributes(t *testing.T) {
	want := workflows.SearchAttributeTypes()
	var one string
	for name := range want {
		if one == "" || name < one {
			one = name
		}
	}
	partial := map[string]enumspb.IndexedValueType{}
	for name, typ := range want {
		if name != one {
			partial[name] = typ
		}
	}
	f := &fakeTemporal{exists: true, attrs: partial}
	c := &mocks.Client{}
	c.On("OperatorService").Return(operatorOf{fakeTemporal: f})

	err := CheckSearchAttributes(context.Background(), c, "riposte", false)
	if err == nil || !strings.Contains(err.Error(), "lacks Riposte's search attributes "+one) || !strings.Contains(err.Error(), "--register-search-attributes") {
		t.Fatalf("missing %s: %v", one, err)
	}
	if strings.Contains(strings.Join(f.calls, ","), "add") {
		t.Fatal("registered without being asked")
	}
	if err := CheckSearchAttributes(context.Background(), c, "riposte", true); err != nil {
		t.Fatal(err)
	}
	if len(f.attrs) != len(want) || f.attrs[one] != want[one] {
		t.Errorf("after registering: %v", f.attrs)
	}
	if err := CheckSearchAttributes(context.Background(), c, "riposte", false); err != nil {
		t.Errorf("all present: %v", err)
	}
	f.attrs[one] = enumspb.INDEXED_VALUE_TYPE_BOOL
	if want[one] == enumspb.INDEXED_VALUE_TYPE_BOOL {
		f.attrs[one] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	if err := CheckSearchAttributes(context.Background(), c, "riposte", true); err == nil || !strings.Contains(err.Error(), "has type") {
		t.Errorf("wrong type: %v", err)
	}
}
