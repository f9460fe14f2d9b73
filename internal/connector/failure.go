package connector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
)

// --- errors ---

// Failure kinds, used as the Temporal ApplicationError type.
const (
	KindRateLimited   = "RateLimited"       // retryable, with NextRetryDelay
	KindUnavailable   = "VendorUnavailable" // 5xx, 408: retryable
	KindNetwork       = "NetworkError"      // transport error, timeout: retryable
	KindAuth          = "AuthFailed"        // 401/403
	KindNotFound      = "NotFound"          // host/user/issue does not exist
	KindRejected      = "VendorRejected"    // other 4xx
	KindVendorError   = "VendorError"       // Failure reported inside a 2xx
	KindInvalidParams = "InvalidParams"
	KindNoConnection  = "NoConnection"
	KindSecret        = "SecretUnavailable"
)

// Failure is a classified connector error. Handlers wrap it with context
// (fmt.Errorf("isolating host %s: %w", ...)); toActivityError turns the
// whole chain into one Temporal ApplicationError at the boundary, because
// Temporal only honours an ApplicationError that is returned unwrapped.
type Failure struct {
	kind      string
	msg       string
	retryable bool
	Delay     time.Duration // NextRetryDelay for a retryable failure (0: Temporal's policy)
}

func (f *Failure) Error() string { return f.msg }

func NewFailure(kind, msg string) *Failure {
	return &Failure{kind: kind, msg: msg, retryable: kind == KindRateLimited || kind == KindUnavailable || kind == KindNetwork}
}

func InvalidParam(format string, args ...any) error {
	return NewFailure(KindInvalidParams, fmt.Sprintf(format, args...))
}

// ToActivityError converts a handler error into what Temporal should see,
// with any resolved secret value scrubbed from the message.
func ToActivityError(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	// Temporal carries the message as a protobuf string, which must be
	// UTF-8: a vendor's bytes quoted in it (a Latin-1 page, a Location
	// header) would make the failure impossible to report, and the
	// activity would time out and be retried instead.
	msg := strings.ToValidUTF8(Redact(err.Error(), secrets), "\uFFFD")
	var f *Failure
	if errors.As(err, &f) {
		if !f.retryable {
			return temporal.NewNonRetryableApplicationError(msg, f.kind, nil)
		}
		return temporal.NewApplicationErrorWithOptions(msg, f.kind, temporal.ApplicationErrorOptions{NextRetryDelay: f.Delay})
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		if ae.NonRetryable() {
			return temporal.NewNonRetryableApplicationError(msg, ae.Type(), nil)
		}
		return temporal.NewApplicationErrorWithOptions(msg, ae.Type(), temporal.ApplicationErrorOptions{NextRetryDelay: ae.NextRetryDelay()})
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return temporal.NewApplicationError(msg, KindNetwork)
	}
	return temporal.NewApplicationError(msg, "ConnectorError")
}

// Kind is the failure's kind (the Temporal error type it becomes).
func (f *Failure) Kind() string { return f.kind }

// Retryable reports whether Temporal may retry the failure.
func (f *Failure) Retryable() bool { return f.retryable }

// NoRetry turns a retryable failure that may have left the vendor changed
// (a transport error or timeout after sending, a 5xx, 408) into a
// non-retryable one of type errType, its message followed by why. Rate
// limits (429: not processed) and other errors pass through.
func NoRetry(err error, errType, why string) error {
	var f *Failure
	if !errors.As(err, &f) || !f.retryable || f.kind == KindRateLimited {
		return err
	}
	return &noRetry{err: err, kind: errType, why: why}
}

type noRetry struct {
	err       error
	kind, why string
}

func (n *noRetry) Error() string { return n.err.Error() + "; " + n.why }

// Unwrap exposes a Failure of its own kind, non-retryable.
func (n *noRetry) Unwrap() error { return &Failure{kind: n.kind, msg: n.Error()} }
