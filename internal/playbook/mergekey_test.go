package playbook_test

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// A merge key (<<) is refused wherever it is written, with the same
// message in the playbook's own mappings (a step, retry, approval, the top
// level) as in `with` (README: "a merge key (<<; an alias of a whole
// mapping works) ... is an error at its position"): it was "unknown key
// "<<" (did you mean "id"?)", which sends the author looking for a typo,
// not for the YAML feature Riposte does not take. A duplicate key names
// the line of the first, as it does in `with`.
func TestMergeKeyRefusedEverywhere(t *testing.T) {
	src := `apiVersion: riposte/v1
name: p
version: 1
trigger: {when: "detection.severity_id >= 4"}
steps:
  - &s
    id: a
    action: core.noop
    retry: &r {max_attempts: 2}
  - <<: *s
    id: b
    action: core.noop
  - id: c
    action: core.noop
    retry:
      <<: *r
      max_attempts: 3
    id: c2
`
	_, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
	want := []string{
		`p.yaml:10:5: steps[1]: merge keys (<<) are not supported; write the keys out (an alias of a whole mapping works)`,
		`p.yaml:16:7: steps[2].retry: merge keys (<<) are not supported; write the keys out (an alias of a whole mapping works)`,
		`p.yaml:18:5: steps[2]: duplicate key "id" (first on line 13)`,
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
