package pbtest

import (
	"reflect"
	"testing"

	"github.com/riposte-dev/riposte/workflows"
)

// TestCompareStepAndItemCalls: a step and a for_each item are checked the
// same way for their call (error substring, params and output subsets),
// each line prefixed with where it was found.
func TestCompareStepAndItemCalls(t *testing.T) {
	e := &Expect{Steps: []*StepExpect{{
		ID:         "s",
		CallExpect: CallExpect{Error: "boom", Params: map[string]any{"h": "a"}, HasParams: true},
		HasItems:   true,
		Items: []*ItemExpect{
			{Status: "failed", CallExpect: CallExpect{Error: "nope", Output: map[string]any{"ok": true}, HasOutput: true}},
			{CallExpect: CallExpect{Error: "fine", Params: map[string]any{"h": "b"}, HasParams: true}},
		},
	}}}
	res := &workflows.Result{Steps: []workflows.StepResult{{
		ID: "s", Status: "failed", Error: "timeout", Params: map[string]any{"h": "b"},
		Items: []workflows.ItemResult{
			{Status: "failed", Error: "denied", Output: map[string]any{"ok": false}},
			{Status: "succeeded", Error: "all fine", Params: map[string]any{"h": "b"}},
		},
	}}}
	want := []string{
		`step s: error: want it to contain "boom", got "timeout"`,
		`step s: params.h: want "a", got "b"`,
		`step s: items[0].error: want it to contain "nope", got "denied"`,
		`step s: items[0].output.ok: want true, got false`,
	}
	if got := compare(e, res, nil); !reflect.DeepEqual(got, want) {
		t.Errorf("compare:\n got %q\nwant %q", got, want)
	}
}
