package deploy

import (
	"fmt"
	"testing"

	"go.temporal.io/server/common/dynamicconfig"

	"github.com/riposte-dev/riposte/internal/devserver"
)

// The budget guards take one batched Update per worker process at a time:
// the self-hosted server allows as many in-flight Updates per workflow as
// riposte dev's embedded one (docs/guardrails.md).
func TestDynamicConfigAllowsGuardUpdates(t *testing.T) {
	key := dynamicconfig.WorkflowExecutionMaxInFlightUpdates.Key()
	dev := devserver.DevDynamicConfig()[key.String()]
	l := dynamicconfig.LoadYamlFile(readFile(t, "deploy/temporal/dynamicconfig.yaml"))
	vals := l.Map[key]
	if len(vals) != 1 || len(vals[0].Constraints.Namespace) > 0 {
		t.Fatalf("deploy/temporal/dynamicconfig.yaml: %s = %+v, want one unconstrained value", key, vals)
	}
	if got := fmt.Sprint(vals[0].Value); got != fmt.Sprint(dev) {
		t.Errorf("%s is %s in deploy/temporal/dynamicconfig.yaml, %v in riposte dev", key, got, dev)
	}
	if n, ok := dev.(int); !ok || n < 100 {
		t.Errorf("riposte dev sets %s = %v, want at least 100", key, dev)
	}
}
