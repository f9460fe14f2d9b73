package intake

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestValidateTypesEveryFieldTheViewReads: docs/detections.md ("Types of
// what the view reads") lists the entity objects and the values the view
// reads from them (hostname, name, ip, domain, email_addr, uid, url_string,
// an observable's value, type and name, a resource's uid, type, region,
// hashes' values), at the top level and inside evidences[] and
// finding_info.related_events[]. TestValidateFieldsTheViewReads samples
// them; here each one, given a value of another type, must be a 400 naming
// its own path (dropping the type of any one of them from the schema
// passed every test before).
func TestValidateTypesEveryFieldTheViewReads(t *testing.T) {
	v := newTestValidator(t)
	str := func(path string) []string { return []string{path, "7", "must be a string, got 7"} }
	object := func(path string) []string { return []string{path, "[]", "must be an object, got an array"} }
	cases := [][]string{
		object("user"), str("user.email_addr"), str("user.name"), str("user.uid"),
		object("process"), object("process.user"), object("process.file"), object("process.parent_process"),
		object("process.parent_process.file"), str("process.parent_process.file.hashes[0].value"),
		object("file"), str("file.hashes[0].value"), str("file.hashes[0].algorithm"),
		object("url"), str("url.url_string"), str("url.hostname"),
		object("query"), str("query.hostname"),
		object("email"),
		str("device.name"), str("device.ip"), str("device.domain"),
		object("dst_endpoint"), str("dst_endpoint.hostname"), str("dst_endpoint.domain"), str("src_endpoint.name"),
		object("actor.process"), str("actor.process.user.uid"), object("actor.session"), object("actor.session.user"), str("actor.session.user.email_addr"),
		str("observables[0].value"), str("observables[0].type"), str("observables[0].name"),
		str("resources[0].uid"), str("resources[0].hostname"), str("resources[0].ip"), str("resources[0].type"), str("resources[0].name"), str("resources[0].region"),
		str("evidences[0].user.uid"), str("evidences[0].query.hostname"), str("evidences[0].url.url_string"), str("evidences[0].resources[0].uid"),
		str("evidences[0].dst_endpoint.ip"), str("evidences[0].observables[0].value"),
		str("finding_info.related_events[0].device.hostname"), str("finding_info.related_events[0].observables[0].value"),
		{"finding_info.attacks", "{}", "must be an array, got an object"},
		{"finding_info.attacks[0]", `"T1003"`, `must be an object, got "T1003"`},
		str("finding_info.verdict"),
	}
	for _, c := range cases {
		path, raw, msg := c[0], c[1], c[2]
		t.Run(path, func(t *testing.T) {
			d := decodeOne(t, validDetection)
			val := decodeOne(t, `{"v":`+raw+`}`)["v"]
			setPath(d, path, val)
			got := v.Validate([]Detection{d})
			want := []FieldError{{Path: path, Message: msg}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s = %s: got %s, want %s", path, raw, mustJSON(t, got), mustJSON(t, want))
			}
		})
	}
}

// setPath sets the value at a dotted path ("a.b[0].c"), creating the
// objects and one-element arrays on the way.
func setPath(d Detection, path string, val any) {
	var cur any = map[string]any(d)
	parts := strings.Split(path, ".")
	for i, p := range parts {
		last := i == len(parts)-1
		key, idx := p, -1
		if j := strings.IndexByte(p, '['); j >= 0 {
			key = p[:j]
			idx, _ = strconv.Atoi(strings.TrimSuffix(p[j+1:], "]"))
		}
		m := cur.(map[string]any)
		if idx < 0 {
			if last {
				m[key] = val
				return
			}
			if _, ok := m[key].(map[string]any); !ok {
				m[key] = map[string]any{}
			}
			cur = m[key]
			continue
		}
		l, _ := m[key].([]any)
		for len(l) <= idx {
			l = append(l, map[string]any{})
		}
		m[key] = l
		if last {
			l[idx] = val
			return
		}
		cur = l[idx]
	}
}
