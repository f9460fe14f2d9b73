package pbtest

import (
	"strings"
	"testing"
)

// A case whose expectations are an empty steps or outputs mapping checks
// nothing: it passed whatever the run did, a failed run included. The
// decoder refuses `expect: {}` for that reason ("expect nothing?"); an
// empty mapping under it is the same case and must be refused as well.
func TestEmptyExpectationsRefused(t *testing.T) {
	for _, tc := range []struct{ expect, want string }{
		{"{steps: {}}", "t.test.yaml:4:21: cases[0].expect.steps names no step; name one (a: succeeded) or leave steps out"},
		{"{outputs: {}}", "t.test.yaml:4:23: cases[0].expect.outputs names no output; name one or leave outputs out"},
		{"{status: succeeded, steps: {}}", "t.test.yaml:4:40: cases[0].expect.steps names no step; name one (a: succeeded) or leave steps out"},
	} {
		src := "cases:\n  - name: c\n    detection: {}\n    expect: " + tc.expect + "\n"
		_, diags := Decode("t.test.yaml", []byte(src))
		if got := diags.Error(); !strings.Contains(got, tc.want) {
			t.Errorf("expect: %s:\n got %s\nwant it to hold %s", tc.expect, got, tc.want)
		}
	}
	// What an empty list says is meant: nothing ran.
	_, diags := Decode("t.test.yaml", []byte("cases:\n  - name: c\n    detection: {}\n    expect: {ran: []}\n"))
	if strings.Contains(diags.Error(), "expect.ran") {
		t.Errorf("ran: [] refused: %v", diags)
	}
}
