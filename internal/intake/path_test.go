package intake

import (
	"errors"
	"strings"
	"testing"
)

func TestFormatSegs(t *testing.T) {
	k := func(key string) pathSeg { return pathSeg{key: key} }
	i := func(n int) pathSeg { return pathSeg{index: n, isIndex: true} }
	tests := []struct {
		segs []pathSeg
		want string
	}{
		{nil, ""},
		{[]pathSeg{k("severity_id")}, "severity_id"},
		{[]pathSeg{k("finding_info"), k("uid")}, "finding_info.uid"},
		{[]pathSeg{k("attacks"), i(0), k("technique"), k("uid")}, "attacks[0].technique.uid"},
		{[]pathSeg{k("evidences"), i(2), i(10)}, "evidences[2][10]"},
		{[]pathSeg{i(3), k("x")}, "[3].x"},
		{[]pathSeg{k("unmapped"), k("a.b")}, `unmapped["a.b"]`},
		{[]pathSeg{k("unmapped"), k(""), k("c")}, `unmapped[""].c`},
		{[]pathSeg{k("x y"), k(`q"[0]`)}, `["x y"]["q\"[0]"]`},
		{[]pathSeg{k("a"), k(strings.Repeat("z", 100))}, `a["` + strings.Repeat("z", maxPathKey) + `"…]`},
	}
	for _, tt := range tests {
		if got := formatSegs(tt.segs); got != tt.want {
			t.Errorf("formatSegs(%v) = %q, want %q", tt.segs, got, tt.want)
		}
	}
}

func TestLocationSegs(t *testing.T) {
	inst := map[string]any{
		"attacks": []any{map[string]any{"technique": map[string]any{"uid": "T1003.001"}}},
		"10":      "key that looks like an index",
	}
	segs, v, ok := locationSegs(inst, []string{"attacks", "0", "technique", "uid"})
	if got := formatSegs(segs); got != "attacks[0].technique.uid" || v != "T1003.001" || !ok {
		t.Errorf("got %q, %v, %v", got, v, ok)
	}
	segs, v, ok = locationSegs(inst, []string{"10"})
	if got := formatSegs(segs); got != "10" || v != "key that looks like an index" || !ok {
		t.Errorf("numeric key: got %q, %v, %v", got, v, ok)
	}
	segs, _, ok = locationSegs(inst, []string{"attacks", "5", "x"})
	if got := formatSegs(segs); got != "attacks[5].x" || ok {
		t.Errorf("missing item: got %q, %v", got, ok)
	}
}

// Decode errors use the same path format as validation errors.
func TestDecodeErrorPaths(t *testing.T) {
	tests := []struct{ body, path string }{
		{`{"attacks":[{"technique":{"uid":"T1003","uid":"T1003.001"}}]}`, "attacks[0].technique.uid"},
		{`{"evidences":[{},{"data":{"x.y":1,"x.y":2}}]}`, `evidences[1].data["x.y"]`},
		{`{"a":[[1e999]]}`, "a[0][0]"},
	}
	for _, tt := range tests {
		_, err := Decode(strings.NewReader(tt.body), DecodeOptions{})
		var de *DecodeError
		if !errors.As(err, &de) || de.Path != tt.path {
			t.Errorf("Decode(%s): err %v, want path %q", tt.body, err, tt.path)
		}
	}
}
