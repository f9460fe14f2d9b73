package catalog

import (
	"strings"
	"testing"
)

func contain(name, undo string) Action {
	return Action{Name: name, Risk: RiskContain, Undo: undo}
}

// TestNewChecksConsistency: each check of New refuses its broken catalog
// with a message naming the action, and all problems come at once.
func TestNewChecksConsistency(t *testing.T) {
	lift := Action{Name: "x.lift", Risk: RiskContain, Undo: "x.contain"}
	for _, tc := range []struct {
		name    string
		actions []Action
		want    []string
	}{
		{"no name", []Action{{Risk: RiskRead}}, []string{"action #0 has no name"}},
		{"duplicate", []Action{{Name: "a.b", Risk: RiskRead}, {Name: "a.b", Risk: RiskNotify}}, []string{"action a.b is defined twice"}},
		{"unknown risk", []Action{{Name: "a.b", Risk: "destroy"}}, []string{`action a.b: unknown risk "destroy"`}},
		{"empty risk", []Action{{Name: "a.b"}}, []string{`action a.b: unknown risk ""`}},
		{"unknown param type", []Action{{Name: "a.b", Risk: RiskRead, Params: []Param{{Name: "n", Type: "integer"}}}}, []string{`action a.b: param n has unknown type "integer"`}},
		{"contain without undo", []Action{contain("x.contain", "")}, []string{"contain action x.contain names no undo action"}},
		{"undo not in catalog", []Action{contain("x.contain", "x.release")}, []string{"contain action x.contain: undo action x.release is not in the catalog"}},
		{"every problem at once", []Action{{Name: "a.b", Risk: "bad"}, contain("x.contain", "x.gone"), {Name: "a.b", Risk: RiskRead}},
			[]string{`action a.b: unknown risk "bad"`, "action a.b is defined twice", "contain action x.contain: undo action x.gone is not in the catalog"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.actions...)
			if err == nil || c != nil {
				t.Fatalf("New accepted a broken catalog: %v", c)
			}
			if !strings.HasPrefix(err.Error(), "invalid action catalog: ") {
				t.Errorf("error %q", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	// A coherent catalog passes, sorted, every type accepted.
	var params []Param
	for _, typ := range []string{TypeString, TypeInt, TypeNumber, TypeBool, TypeList, TypeObject, TypeAny} {
		params = append(params, Param{Name: "p_" + typ, Type: typ})
	}
	c, err := New(Action{Name: "z.read", Risk: RiskRead, Params: params}, contain("x.contain", "x.lift"), lift, Action{Name: "a.note", Risk: RiskNotify})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Names(), ","); got != "a.note,x.contain,x.lift,z.read" {
		t.Errorf("names %s", got)
	}
	if a, ok := c.Lookup("x.contain"); !ok || a.Undo != "x.lift" {
		t.Errorf("lookup: %+v %v", a, ok)
	}
	if _, ok := c.Lookup("nope"); ok {
		t.Error("lookup of an unknown action succeeded")
	}
}

func TestMustNewPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustNew of a broken catalog did not panic")
		}
	}()
	MustNew(contain("x.contain", ""))
}
