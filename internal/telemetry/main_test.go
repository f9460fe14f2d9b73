package telemetry

import (
	"os"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestMain names the binary for the SDK's test environment, which would
// otherwise hash the whole test executable (the embedded Temporal server
// makes it hundreds of MB) inside the first workflow task that schedules
// an activity: on a busy machine that trips the 1s deadlock detector
// (TMPRL1101) in whichever test comes first, as internal/pbtest found.
func TestMain(m *testing.M) {
	worker.SetBinaryChecksum("riposte-test")
	os.Exit(m.Run())
}
