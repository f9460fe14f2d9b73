package cli

import (
	"fmt"
	"strings"
	"testing"
)

// TestWorkerBooleanEnvironmentVariables: the boolean settings of worker
// and serve read their environment variable with strconv.ParseBool's
// spellings and refuse any other value naming it (TEMPORAL_TLS,
// RIPOSTE_PAYLOAD_COMPRESSION, RIPOSTE_INSECURE_HTTP), except two that
// compared the value with "true": RIPOSTE_NO_ENCRYPTION=1 and
// RIPOSTE_REGISTER_SEARCH_ATTRIBUTES=1 (or TRUE, or yes) were ignored in
// silence. The worker then refused to start "payload encryption is on by
// default: … or pass --no-encryption" to an operator who had said so, or
// "search attributes missing: prepare it" to one who had asked the worker
// to register them. Each must read 1 and TRUE as true, and refuse (exit
// 2, naming the variable) a value that is not a boolean.
func TestWorkerBooleanEnvironmentVariables(t *testing.T) {
	t.Setenv("RIPOSTE_CODEC_KEY_FILE", "")
	t.Setenv("RIPOSTE_CODEC_KEYS", "")
	t.Setenv("RIPOSTE_DECISION_KEY_FILE", "")
	t.Setenv("RIPOSTE_DECISION_KEYS", "")
	t.Setenv("RIPOSTE_POLICY", "")
	t.Setenv("RIPOSTE_METRICS_ADDR", "")
	// Nothing listens there: a worker that got past its settings fails
	// to connect (exit 1), never with a usage error.
	t.Setenv("TEMPORAL_ADDRESS", freeAddr(t))
	for _, name := range []string{"RIPOSTE_NO_ENCRYPTION", "RIPOSTE_REGISTER_SEARCH_ATTRIBUTES"} {
		t.Run(name, func(t *testing.T) {
			if name == "RIPOSTE_REGISTER_SEARCH_ATTRIBUTES" {
				t.Setenv("RIPOSTE_NO_ENCRYPTION", "true")
				t.Setenv("RIPOSTE_DECISION_KEYS", `{"active":"k1","keys":{"k1":"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="}}`)
			}
			t.Setenv(name, "yes please")
			code, _, stderr := runCLI(t, "worker", "--playbooks", t.TempDir())
			if code != 2 || !strings.Contains(stderr, name) {
				t.Errorf("%s=%q: exit %d, want 2 naming %s; stderr:\n%s", name, "yes please", code, name, stderr)
			}
		})
	}
	// 1 turns encryption off like true: past the keys, to the connection.
	t.Setenv("RIPOSTE_NO_ENCRYPTION", "1")
	t.Setenv("RIPOSTE_DECISION_KEYS", `{"active":"k1","keys":{"k1":"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="}}`)
	code, _, stderr := runCLI(t, "worker", "--playbooks", t.TempDir())
	if code == 2 || strings.Contains(stderr, "payload encryption is on by default") {
		t.Errorf("RIPOSTE_NO_ENCRYPTION=1: exit %d, stderr:\n%s", code, fmt.Sprint(stderr))
	}
}
