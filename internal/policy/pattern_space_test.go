package policy

import (
	"strings"
	"testing"
)

// Param values are compared without their surrounding spaces (a host
// "dc-01 " rendered from a template is the host dc-01), but a protected
// pattern was kept as written: hosts: [" dc-01"] (a quoted entry pasted
// with its space) loaded without a word and never matched anything, so the
// host it names was contained automatically. Such an entry is an error
// with its position, like an empty one.
func TestProtectedPatternWithSurroundingSpace(t *testing.T) {
	for _, src := range []string{
		"protected:\n  hosts: [\" dc-01\"]\n",
		"protected:\n  users: [\"ceo@example.com \"]\n",
		"protected:\n  tags: [\"crown-jewel\\t\"]\n",
	} {
		p, err := Parse("policy.yaml", []byte(src))
		if err == nil {
			d := p.Evaluate(Request{Action: "crowdstrike.contain_host", Auto: true,
				Params: map[string]any{"hostname": "dc-01", "user": "ceo@example.com", "tags": "crown-jewel"}}, false)
			t.Errorf("%q loaded; the step is %+v; want an error naming the entry's position", src, d)
			continue
		}
		if !strings.Contains(err.Error(), "policy.yaml:2:") || !strings.Contains(err.Error(), "space") {
			t.Errorf("%q: %v; want policy.yaml:2:col saying the entry has surrounding space", src, err)
		}
	}
}
