package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// TestAttemptTimedOut: a handler that returns at its attempt's deadline is
// reported as a timeout (the step reads timed_out, not failed), unless it
// said a retry is unsafe or the attempt still had time.
func TestAttemptTimedOut(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	live := context.Background()
	already := temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, context.DeadlineExceeded)
	unsafe := temporal.NewNonRetryableApplicationError("may have reached the vendor", "ContainUnknown", nil)
	for _, c := range []struct {
		name        string
		ctx         context.Context
		err         error
		wantTimeout bool
		wantSame    bool
	}{
		{"success", expired, nil, false, true},
		{"deadline, ctx error returned", expired, context.DeadlineExceeded, true, false},
		{"deadline, wrapped error", expired, errors.New("vendor call: context deadline exceeded"), true, false},
		{"deadline, retryable application error", expired, temporal.NewApplicationError("timeout", "Network"), true, false},
		{"deadline, non-retryable", expired, unsafe, false, true},
		{"no deadline", live, errors.New("vendor said no"), false, true},
		{"deadline, already a timeout", expired, already, true, true},
	} {
		got := attemptTimedOut(c.ctx, c.err)
		var te *temporal.TimeoutError
		if isTimeout := errors.As(got, &te); isTimeout != c.wantTimeout {
			t.Errorf("%s: %v is a timeout: %v, want %v", c.name, got, isTimeout, c.wantTimeout)
		}
		if c.wantSame && got != c.err {
			t.Errorf("%s: %v, want the handler's error %v unchanged", c.name, got, c.err)
		}
	}
}
