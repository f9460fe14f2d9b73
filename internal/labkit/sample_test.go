package labkit

import (
	"encoding/json"
	"reflect"
	"testing"
	"testing/fstest"
)

func TestShapeDiff(t *testing.T) {
	var doc any
	_ = json.Unmarshal([]byte(`{"id":"a","n":1,"tags":[{"k":"v"}],"opt":null,"o":{"x":true}}`), &doc)
	for _, c := range []struct {
		got  string
		want []string
	}{
		{`{"id":"b","n":2,"tags":[{"k":"w"}],"opt":{"any":1},"o":{"x":false}}`, nil},
		{`{"id":"b","extra":1}`, []string{"$.extra: not in the vendor's sample"}},
		{`{"id":1,"n":null}`, []string{"$.id: number in the answer, string in the vendor's sample"}},
		{`{"tags":[{"k":1}],"o":{"y":1}}`, []string{"$.o.y: not in the vendor's sample", "$.tags[0].k: number in the answer, string in the vendor's sample"}},
		{`{"tags":{}}`, []string{"$.tags: object in the answer, array in the vendor's sample"}},
	} {
		var got any
		_ = json.Unmarshal([]byte(c.got), &got)
		if d := ShapeDiff(got, doc); !reflect.DeepEqual(d, c.want) {
			t.Errorf("ShapeDiff(%s) = %q, want %q", c.got, d, c.want)
		}
	}
	// A sample read with UseNumber compares its numbers as numbers.
	num := Sample(fstest.MapFS{"s.json": {Data: []byte(`{"n":1}`)}}, "s.json")
	if d := ShapeDiff(map[string]any{"n": 2.0}, num); len(d) != 0 {
		t.Errorf("json.Number against float64: %q", d)
	}
}
