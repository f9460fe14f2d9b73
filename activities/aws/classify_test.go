package aws

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/riposte-dev/riposte/internal/connector"
)

// IAM's ConcurrentModification (409: "Wait a few minutes and submit your
// request again", IAM API reference, Common Errors) is retried after a
// while, not taken as a refusal.
func TestConcurrentModificationIsRetried(t *testing.T) {
	c := &connector.Conn{Name: "aws", Label: "AWS IAM"}
	for _, code := range []string{"ConcurrentModification", "ConcurrentModificationException"} {
		err := classify(c, "UpdateAccessKey", &smithy.GenericAPIError{Code: code, Message: "Cannot perform the operation on the protected role"})
		var f *connector.Failure
		if !errors.As(err, &f) || !f.Retryable() || f.Kind() != connector.KindUnavailable || f.Delay < 10*time.Second {
			t.Errorf("%s: %v, want a retryable failure after a delay", code, err)
		}
	}
	err := classify(c, "UpdateAccessKey", &smithy.GenericAPIError{Code: "ValidationError", Message: "bad"})
	var f *connector.Failure
	if !errors.As(err, &f) || f.Retryable() {
		t.Errorf("ValidationError: %v, want a refusal", err)
	}
}

// The snapshots' description (shown in the console, may quote the
// detection) keeps no bidi override, escape or line break.
func TestSnapshotDescriptionShownText(t *testing.T) {
	got := snapshotDescription("evidence for evil\u202Efdp.exe\x1b[2J\non\tws-1\u200b")
	if want := "evidence for evilfdp.exe[2J on ws-1"; got != want {
		t.Errorf("description %q, want %q", got, want)
	}
	if got := snapshotDescription(strings.Repeat("é", 200)); len(got) != 254 {
		t.Errorf("long description: %d bytes, want 254", len(got))
	}
}
