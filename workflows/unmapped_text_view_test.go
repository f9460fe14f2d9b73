package workflows_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/riposte-dev/riposte/internal/catalog"
)

// TestRebuiltViewDoesNotReadUnmappedText: a run whose input carries no
// view (recorded before views were sent with the detection) rebuilds it as
// it was built then, when an `unmapped` JSON text (Amazon Security Lake's
// OCSF 1.1 tables) was not read. Reading it now would give such a run
// other targets on replay than the ones its history recorded (here one
// more lookup): a nondeterminism error for every such run in flight. The
// object form is read, as it always was.
func TestRebuiltViewDoesNotReadUnmappedText(t *testing.T) {
	pb := compileYAML(t, `apiVersion: riposte/v1
name: look-up-ips
version: 1
trigger: {when: "true"}
steps:
  - id: look
    action: abuseipdb.check_ip
    for_each: ${{ finding.ips.all }}
    with: {ip: "${{ item.value }}"}
`)
	looked := func(unmapped any) []string {
		h := newHarness(t)
		var mu sync.Mutex
		var ips []string
		h.action("abuseipdb.check_ip", func(_ context.Context, call catalog.Call) (map[string]any, error) {
			mu.Lock()
			defer mu.Unlock()
			ips = append(ips, call.Params["ip"].(string))
			return map[string]any{"found": true, "score": 0}, nil
		})
		det := map[string]any{"severity_id": 3, "unmapped": unmapped}
		if _, err := h.run(pb, det); err != nil {
			t.Fatalf("run: %v", err)
		}
		slices.Sort(ips)
		return ips
	}
	if got := looked(map[string]any{"src_ip": "203.0.113.9"}); !slices.Equal(got, []string{"203.0.113.9"}) {
		t.Fatalf("premise: unmapped as an object looked up %q, want 203.0.113.9", got)
	}
	if got := looked(`{"src_ip": "203.0.113.9"}`); len(got) != 0 {
		t.Errorf("a run without a view in its input read the unmapped JSON text: looked up %q; runs recorded before it was read would not replay", got)
	}
}
