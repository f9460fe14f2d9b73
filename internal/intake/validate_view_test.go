package intake

import (
	"reflect"
	"testing"
)

// TestValidateFieldsTheViewReads: the finding view (internal/finding)
// reads the lifecycle ids, the entity objects and lists of a detection by
// their OCSF types, and skips a value of another type without a word. A
// producer that writes such a field with the wrong type must get a 400
// naming it, never a 200 whose view lost it: "activity_id": "3" (a Close
// written as text) read as no activity would start the containment the
// Close withdraws; a device sent as an array would leave the view without
// the host the alert is about. OCSF 1.1-1.8 types: activity_id, status_id,
// verdict_id, confidence_id are integers (enum ids); device, actor,
// src_endpoint... are objects; observables, resources, evidences, attacks,
// related_events are arrays of objects; hostname, ip, email_addr... strings.
func TestValidateFieldsTheViewReads(t *testing.T) {
	v := newTestValidator(t)
	tests := []struct {
		name   string
		mutate func(d Detection)
		want   []FieldError // Index is always 0
	}{
		// Lifecycle: what decides whether a record withdraws its finding.
		{"activity_id as text", func(d Detection) { d["activity_id"] = "3" },
			[]FieldError{{Path: "activity_id", Message: `must be an integer, got "3"`}}},
		{"activity_id fractional", func(d Detection) { d["activity_id"] = 3.5 },
			[]FieldError{{Path: "activity_id", Message: "must be an integer, got 3.5"}}},
		{"status_id as text", func(d Detection) { d["status_id"] = "4" },
			[]FieldError{{Path: "status_id", Message: `must be an integer, got "4"`}}},
		{"state_id as text", func(d Detection) { d["state_id"] = "4" },
			[]FieldError{{Path: "state_id", Message: `must be an integer, got "4"`}}},
		{"verdict_id as text", func(d Detection) { d["verdict_id"] = "1" },
			[]FieldError{{Path: "verdict_id", Message: `must be an integer, got "1"`}}},
		{"confidence_id as text", func(d Detection) { d["confidence_id"] = "3" },
			[]FieldError{{Path: "confidence_id", Message: `must be an integer, got "3"`}}},
		{"confidence as an object", func(d Detection) { d["confidence"] = map[string]any{"id": 3} },
			[]FieldError{{Path: "confidence", Message: "must be an integer or a string, got an object"}}},
		{"finding_info.types as text", func(d Detection) { obj(d, "finding_info")["types"] = "Compromised Account" },
			[]FieldError{{Path: "finding_info.types", Message: `must be an array, got "Compromised Account"`}}},

		// Entity objects and lists.
		{"device as an array", func(d Detection) { d["device"] = []any{map[string]any{"hostname": "ws-1"}} },
			[]FieldError{{Path: "device", Message: "must be an object, got an array"}}},
		{"device.hostname as an array", func(d Detection) { d["device"] = map[string]any{"hostname": []any{"ws-1", "ws-2"}} },
			[]FieldError{{Path: "device.hostname", Message: "must be a string, got an array"}}},
		{"actor.user as text", func(d Detection) { d["actor"] = map[string]any{"user": "alice"} },
			[]FieldError{{Path: "actor.user", Message: `must be an object, got "alice"`}}},
		{"src_endpoint.ip as a number", func(d Detection) { d["src_endpoint"] = map[string]any{"ip": 167772161} },
			[]FieldError{{Path: "src_endpoint.ip", Message: "must be a string, got 167772161"}}},
		{"observables as an object", func(d Detection) { d["observables"] = map[string]any{"type_id": 1, "value": "ws-1"} },
			[]FieldError{{Path: "observables", Message: "must be an array, got an object"}}},
		{"observable type_id as text", func(d Detection) {
			d["observables"] = []any{map[string]any{"type_id": "2", "value": "10.0.0.1"}}
		}, []FieldError{{Path: "observables[0].type_id", Message: `must be an integer, got "2"`}}},
		{"resources as an object", func(d Detection) { d["resources"] = map[string]any{"uid": "arn:aws:iam::123456789012:user/bob"} },
			[]FieldError{{Path: "resources", Message: "must be an array, got an object"}}},
		{"evidences as an object", func(d Detection) { d["evidences"] = map[string]any{"device": map[string]any{"hostname": "ws-1"}} },
			[]FieldError{{Path: "evidences", Message: "must be an array, got an object"}}},
		{"an evidence's device as an array", func(d Detection) {
			d["evidences"] = []any{map[string]any{"device": []any{"ws-1"}}}
		}, []FieldError{{Path: "evidences[0].device", Message: "must be an object, got an array"}}},
		{"a file hash as text", func(d Detection) {
			d["evidences"] = []any{map[string]any{"process": map[string]any{"file": map[string]any{"hashes": "d41d8cd98f00b204e9800998ecf8427e"}}}}
		}, []FieldError{{Path: "evidences[0].process.file.hashes", Message: `must be an array, got "d41d8cd98f00b204e9800998ecf8427e"`}}},
		{"related_events as an object", func(d Detection) { obj(d, "finding_info")["related_events"] = map[string]any{"uid": "e1"} },
			[]FieldError{{Path: "finding_info.related_events", Message: "must be an array, got an object"}}},
		{"unmapped as a number", func(d Detection) { d["unmapped"] = 17 },
			[]FieldError{{Path: "unmapped", Message: "must be a string or an object, got 17"}}},
		{"attacks as an object", func(d Detection) { d["attacks"] = map[string]any{"technique": map[string]any{"uid": "T1003"}} },
			[]FieldError{{Path: "attacks", Message: "must be an array, got an object"}}},

		// What stays accepted: OCSF's own types, and null read as absent
		// at every level (Amazon Security Lake writes absent attributes as
		// null, inside array items too).
		{"confidence as a label (1.1+)", func(d Detection) { d["confidence"] = "High" }, nil},
		// Amazon Security Lake's OCSF 1.1 tables hold unmapped as a JSON
		// text (elastic/integrations#15167 parses it for that reason).
		{"unmapped as JSON text (Security Lake)", func(d Detection) { d["unmapped"] = `{"src_ip": "203.0.113.9"}` }, nil},
		{"confidence as an integer (1.0)", func(d Detection) { d["confidence"] = 80 }, nil},
		{"nulls inside objects and array items", func(d Detection) {
			d["activity_id"] = nil
			d["device"] = map[string]any{"hostname": nil, "ip": "10.0.0.1", "name": nil}
			d["observables"] = []any{map[string]any{"type_id": 2, "value": "10.0.0.1", "name": nil, "type": nil}}
			d["evidences"] = []any{map[string]any{"device": nil, "actor": map[string]any{"user": map[string]any{"name": "alice", "uid": nil}}}}
			d["unmapped"] = nil
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decodeOne(t, validDetection)
			tt.mutate(d)
			got := v.Validate([]Detection{d})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate:\n got %s\nwant %s", mustJSON(t, got), mustJSON(t, tt.want))
			}
		})
	}
}
