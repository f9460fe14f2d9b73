package codec

import (
	"errors"

	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// SafeMessageTypes are the application error types whose messages are
// written to carry no detection or vendor data (e.g. "run failed: step
// isolate failed (defender.isolate_machine)"; the reason itself is in the
// error's details, which stay encrypted). Their message stays readable in the
// history and the Web UI; the stack trace is still encrypted.
var SafeMessageTypes = map[string]bool{
	"RunFailed":      true,
	"RollbackFailed": true,
}

// summaryFailureConverter encrypts failure messages like the default
// converter with EncodeCommonAttributes, but shows a readable, non-secret
// message instead of "Encoded failure": the message itself for
// SafeMessageTypes, else the error type.
type summaryFailureConverter struct {
	converter.FailureConverter
}

func (c summaryFailureConverter) ErrorToFailure(err error) *failurepb.Failure {
	f := c.FailureConverter.ErrorToFailure(err)
	if f == nil || f.GetEncodedAttributes() == nil {
		return f
	}
	t := f.GetApplicationFailureInfo().GetType()
	var ae *temporal.ApplicationError
	switch {
	case t == "":
	case SafeMessageTypes[t] && errors.As(err, &ae) && ae.Type() == t:
		f.Message = ae.Message()
	default:
		f.Message = t + " (message encrypted: the codec endpoint decodes it)"
	}
	return f
}
