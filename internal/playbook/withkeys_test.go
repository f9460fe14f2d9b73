package playbook_test

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// The keys of `with` itself follow the rules of the values nested in it
// (README: a key that is not a string or a merge key is an error at its
// position). They did not: for an action taking any params (core.noop,
// used to shape data) `<<: *defaults` validated as one param named "<<"
// holding the mapping, so the step's output had no severity or team and
// every expression reading them saw nothing; `~:` became a param "~".
func TestWithKeysFollowTheYAMLRules(t *testing.T) {
	doc := func(with string) []byte {
		return []byte(stepDoc("  - id: a\n    action: core.noop\n    with: &d {severity: high}\n  - id: b\n    action: core.noop\n    with:\n" + with))
	}
	for _, tc := range []struct{ with, want string }{
		{"      <<: *d\n      team: soc\n", `p.yaml:13:7: steps[1].with: merge keys (<<) are not supported`},
		{"      ~: nothing\n", `p.yaml:13:7: steps[1].with: keys must be strings`},
		{"      ? [a, b]\n      : list key\n", `p.yaml:13:9: steps[1].with: keys must be strings`},
	} {
		_, diags := playbook.LoadBytes("p.yaml", doc(tc.with), testCatalog(t))
		if !strings.Contains(diags.Error(), tc.want) {
			t.Errorf("with:\n%svalidated with %q; want %s", tc.with, diags.Error(), tc.want)
		}
	}
}
