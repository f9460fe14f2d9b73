package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/workflows"
)

// TestWorkerWrongTypedSearchAttributeSaysWhatFixesIt: a namespace that
// holds one of Riposte's search attributes with another type (an attribute
// of the same name another team registered) cannot be repaired by riposte
// setup: a search attribute's type never changes, and setup refuses it
// naming the fix (remove it, or use another namespace). The worker's
// refusal told the operator to run riposte setup, which then fails: it
// must say what fixes it, as setup does.
func TestWorkerWrongTypedSearchAttributeSaysWhatFixesIt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	attrs := workflows.SearchAttributeTypes()
	attrs["RunMode"] = enumspb.INDEXED_VALUE_TYPE_INT
	srv, err := devserver.Start(ctx, devserver.Options{Namespace: "satype", UIPort: -1, HTTPPort: -1, SearchAttributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	for _, v := range []string{"RIPOSTE_CODEC_KEY_FILE", "RIPOSTE_DECISION_KEY_FILE", "RIPOSTE_DECISION_KEYS", "RIPOSTE_POLICY", "RIPOSTE_REGISTER_SEARCH_ATTRIBUTES",
		"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "RIPOSTE_METRICS_ADDR"} {
		t.Setenv(v, "")
	}
	t.Setenv("RIPOSTE_CODEC_KEYS", fmt.Sprintf(`{"active":"k1","keys":{"k1":%q}}`, base64.StdEncoding.EncodeToString(key)))
	for _, args := range [][]string{nil, {"--register-search-attributes"}} {
		args = append([]string{"worker", "--temporal-address", srv.FrontendAddress(), "--namespace", "satype", "--log-level", "error",
			"--playbooks", filepath.Join("..", "..", "playbooks"), "--config", filepath.Join(t.TempDir(), "none.yaml"), "--policy", ""}, args...)
		code, _, stderr := runCLI(t, args...)
		if code == 0 || !strings.Contains(stderr, "RunMode") {
			t.Fatalf("%v: exit %d, stderr %s", args, code, stderr)
		}
		if strings.Contains(stderr, "prepare it: riposte setup") || !strings.Contains(stderr, "search-attribute remove") {
			t.Errorf("%q: the refusal does not say what fixes a wrong-typed attribute (setup cannot):\n%s", args[len(args)-1], stderr)
		}
	}
}
