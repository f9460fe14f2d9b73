package pbtest

import (
	"strings"
	"testing"
)

// A step's params are always a mapping, so a step expectation whose only
// check is an empty params mapping (a: {params: {}}) checks nothing: the
// case passed whatever the step did, failed or skipped included. It is
// the empty mapping ffec0b3 refuses under steps and outputs, one level
// down (and `a: {}` is refused: "expect nothing?").
func TestEmptyParamsExpectationRefused(t *testing.T) {
	for _, tc := range []struct{ expect, want string }{
		{"{steps: {a: {params: {}}}}", "t.test.yaml:4:34: cases[0].expect.steps.a.params names no param"},
		{"{steps: {a: {status: succeeded, params: {}}}}", "t.test.yaml:4:53: cases[0].expect.steps.a.params names no param"},
	} {
		src := "cases:\n  - name: c\n    detection: {}\n    expect: " + tc.expect + "\n"
		_, diags := Decode("t.test.yaml", []byte(src))
		if got := diags.Error(); !strings.Contains(got, tc.want) {
			t.Errorf("expect: %s:\n got %s\nwant it to hold %s", tc.expect, got, tc.want)
		}
	}
}
