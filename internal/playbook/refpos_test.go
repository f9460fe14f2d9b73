package playbook_test

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// A reference an expression may not make (a step not upstream, an unknown
// step or var, a var defined later) is reported with the caret under the
// reference, as a compile error is under its token: it stood at the start
// of the value, the `>-` of a folded `if:` lines above the reference, or
// the first of two placeholders when the second is wrong.
func TestReferenceErrorsPointAtTheReference(t *testing.T) {
	src := `apiVersion: riposte/v1
name: p
version: 1
trigger: {when: "detection.severity_id >= 4"}
vars:
  a: detection.x + vars.b
  b: '"x"'
steps:
  - id: enrich
    action: core.noop
  - id: notify
    action: core.noop
    needs: [enrich]
    if: >-
      steps.enrich.status == "succeeded" &&
      vars.b != "" &&
      steps.late.status == "failed"
    with:
      text: "${{ steps.enrich.output.x }} ${{ steps.enrichh.output.y }}"
      host: ${{ vars.hots }}
  - id: late
    action: core.noop
outputs:
  r: steps.enrich.status + steps.notfy.status
`
	_, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
	want := []string{
		`p.yaml:6:20: vars.a: vars.b is defined later; a var may only use the vars before it`,
		`p.yaml:17:7: steps[1].if: steps.late is not upstream of step "notify"; add it to needs`,
		`p.yaml:19:47: steps[1].with.text: unknown step "enrichh" (did you mean "enrich"?)`,
		`p.yaml:20:17: steps[1].with.host: unknown var "hots"`,
		`p.yaml:24:28: outputs.r: unknown step "notfy" (did you mean "notify"?)`,
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The caret is under the reference the expression makes, not under text
// that spells it earlier: a string literal ("steps.late"), a comment, or
// the literal text of a template around its placeholder ("see
// steps.enrichh: ${{ steps.enrichh… }}", as a message quoting the step
// reads). refAt found these by searching the value's text.
func TestReferenceErrorsIgnoreTextSpellingTheReference(t *testing.T) {
	src := `apiVersion: riposte/v1
name: p
version: 1
trigger: {when: "detection.severity_id >= 4"}
vars:
  a: '"vars.b" + vars.b'
  b: '"x"'
steps:
  - id: enrich
    action: core.noop
  - id: notify
    action: core.noop
    needs: [enrich]
    if: 'detection.title != "steps.late" && /* steps.late */ steps.late.status == "failed"'
    with:
      text: "see steps.enrichh: ${{ 'steps.enrichh' }} ${{ steps.enrichh.output.y }}"
      host: "vars.hots ${{ vars.hots }}"
  - id: late
    action: core.noop
`
	_, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
	want := []string{
		`p.yaml:6:18: vars.a: vars.b is defined later; a var may only use the vars before it`,
		`p.yaml:14:62: steps[1].if: steps.late is not upstream of step "notify"; add it to needs`,
		`p.yaml:16:60: steps[1].with.text: unknown step "enrichh" (did you mean "enrich"?)`,
		`p.yaml:17:28: steps[1].with.host: unknown var "hots"`,
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
