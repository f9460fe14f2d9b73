package playbook_test

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// An integer beyond ±2^53 written in `with` (a ticket, a custom field or
// an account id) validated, and was then carried as the nearest float64:
// the step sent another number (1234567890123456789 went out as
// 1234567890123456800) with no word. It is a number JSON cannot carry
// exactly, like .inf: an error at its position, saying what it would
// become and to quote it. (The intake warns about such integers in a
// detection; a playbook is written by hand and can say it as a string.)
func TestWithIntegerBeyond2to53Refused(t *testing.T) {
	for _, tc := range []struct{ with, want string }{
		{"{summary: s, details: {ticket: 1234567890123456789}}", `p.yaml:8:42: steps[0].with.details.ticket: 1234567890123456789 is beyond ±2^53 and would be carried as 1234567890123456800; quote it ("1234567890123456789")`},
		{"{summary: s, details: {ids: [1, -9007199254740993]}}", `p.yaml:8:43: steps[0].with.details.ids[1]: -9007199254740993 is beyond ±2^53 and would be carried as -9007199254740992; quote it ("-9007199254740993")`},
		{"{summary: s, details: {n: 99999999999999999999}}", `p.yaml:8:37: steps[0].with.details.n: 99999999999999999999 is beyond ±2^53 and would be carried as 100000000000000000000; quote it ("99999999999999999999")`},
	} {
		_, diags := playbook.LoadBytes("p.yaml", withPlaybook(tc.with), testCatalog(t))
		if diags == nil || !strings.Contains(diags.Error(), tc.want) {
			t.Errorf("with: %s: got %v; want %s", tc.with, diags, tc.want)
		}
	}
	// 2^53 itself, and whole floats within it, are exact.
	if _, diags := playbook.LoadBytes("p.yaml", withPlaybook("{summary: s, details: {a: 9007199254740992, b: -9007199254740992, c: 1e15}}"), testCatalog(t)); diags != nil {
		t.Errorf("exact integers refused: %v", diags)
	}
}
