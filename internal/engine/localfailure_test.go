package engine_test

import (
	"errors"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/workflows"
)

// A local step's failure is sealed: its message names only its type, the
// text goes to the encrypted details. A timeout stays a timeout (the step
// reads timed_out and is retried as one), its cause sealed the same way.
func TestSealLocalFailure(t *testing.T) {
	err := engine.SealLocalFailure(errors.New("vendor said: host fin-ws-042 unknown"))
	var ae *temporal.ApplicationError
	var lf workflows.LocalFailure
	if !errors.As(err, &ae) || ae.Type() != "ActionError" || strings.Contains(ae.Error(), "fin-ws-042") || ae.Details(&lf) != nil || lf.Message != "vendor said: host fin-ws-042 unknown" {
		t.Errorf("sealed %v (details %+v)", err, lf)
	}

	err = engine.SealLocalFailure(temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, errors.New("GET https://vendor/fin-ws-042: context deadline exceeded")))
	var te *temporal.TimeoutError
	if !errors.As(err, &te) || te.TimeoutType() != enumspb.TIMEOUT_TYPE_START_TO_CLOSE {
		t.Fatalf("a timeout became %v", err)
	}
	if strings.Contains(err.Error(), "fin-ws-042") || !errors.As(te.Unwrap(), &ae) {
		t.Errorf("the timeout's cause is not sealed: %v", err)
	}
}
