package playbook_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// Literal `with` values (and for_each lists) are read with the same rules
// as every other YAML value Riposte reads (yamlx.Value): a duplicate key,
// a key that is not a string, a merge key or a number JSON cannot carry is
// a diagnostic at its position, not a value silently dropped, renamed or
// left to fail when the step runs. A timestamp stays the text written.
func TestWithLiteralValuesFollowTheYAMLRules(t *testing.T) {
	refused := []struct{ with, want string }{
		{"{summary: s, details: {a: 1, a: 2}}", `p.yaml:8:40: steps[0].with.details: duplicate key "a"`},
		{"{summary: s, details: {a: .inf}}", `p.yaml:8:37: steps[0].with.details.a: .inf is not a finite number`},
		{"{summary: s, details: {a: .nan}}", `p.yaml:8:37: steps[0].with.details.a: .nan is not a finite number`},
		{"{summary: s, details: {? [a, b] : 1}}", `p.yaml:8:36: steps[0].with.details: keys must be strings`},
		{"{summary: s, details: {<<: {x: 1}, y: 2}}", `p.yaml:8:34: steps[0].with.details: merge keys (<<) are not supported`},
	}
	for _, tc := range refused {
		_, diags := playbook.LoadBytes("p.yaml", withPlaybook(tc.with), testCatalog(t))
		if diags == nil {
			t.Errorf("with: %s validated; want %s", tc.with, tc.want)
			continue
		}
		if !strings.Contains(diags.Error(), tc.want) {
			t.Errorf("with: %s: got %v; want %s", tc.with, diags, tc.want)
		}
	}
	c, diags := playbook.LoadBytes("p.yaml", withPlaybook("{summary: s, details: {due: 2024-01-01}}"), testCatalog(t))
	if diags != nil {
		t.Fatal(diags)
	}
	b, _ := json.Marshal(c.Steps[0].Step.With["details"])
	if string(b) != `{"due":"2024-01-01"}` {
		t.Errorf("details: {due: 2024-01-01} became %s", b)
	}
}

func withPlaybook(with string) []byte {
	return []byte("apiVersion: riposte/v1\nname: p\nversion: 1\ntrigger: {when: 'true'}\nsteps:\n  - id: s\n    action: pagerduty.trigger\n    with: " + with + "\n")
}
