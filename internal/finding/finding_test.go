package finding

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
)

func TestConfidence(t *testing.T) {
	custom := DefaultConfig()
	custom.ConfidenceIDs = map[int]int{1: 10, 2: 40, 3: 95, 99: 50}
	tests := []struct {
		name string
		det  map[string]any
		cfg  Config
		want any
	}{
		{"score wins", map[string]any{"confidence_score": 92, "confidence_id": 1}, DefaultConfig(), 92},
		{"score as float from JSON", map[string]any{"confidence_score": 92.0}, DefaultConfig(), 92},
		{"zero score is zero, not unknown", map[string]any{"confidence_score": 0}, DefaultConfig(), 0},
		{"OCSF 1.0 integer confidence", map[string]any{"confidence": 100}, DefaultConfig(), 100},
		{"id Low", map[string]any{"confidence_id": 1}, DefaultConfig(), 25},
		{"id Medium", map[string]any{"confidence_id": 2, "confidence": "Medium"}, DefaultConfig(), 50},
		{"id High", map[string]any{"confidence_id": 3}, DefaultConfig(), 85},
		{"id Other is unknown", map[string]any{"confidence_id": 99}, DefaultConfig(), nil},
		{"id Unknown is unknown", map[string]any{"confidence_id": 0}, DefaultConfig(), nil},
		{"label alone", map[string]any{"confidence": "high"}, DefaultConfig(), 85},
		{"nothing is unknown, never 0", map[string]any{}, DefaultConfig(), nil},
		{"out-of-range score ignored", map[string]any{"confidence_score": 150}, DefaultConfig(), nil},
		{"fractional score ignored, not truncated to 91", map[string]any{"confidence_score": 91.5}, DefaultConfig(), nil},
		{"fractional score ignored, not rounded to 92", map[string]any{"confidence_score": 91.5, "confidence_id": 3}, DefaultConfig(), 85},
		{"fractional OCSF 1.0 confidence ignored", map[string]any{"confidence": 91.5}, DefaultConfig(), nil},
		{"fractional score from UseNumber ignored", map[string]any{"confidence_score": json.Number("91.5")}, DefaultConfig(), nil},
		{"integral score from UseNumber", map[string]any{"confidence_score": json.Number("91")}, DefaultConfig(), 91},
		{"configured mapping", map[string]any{"confidence_id": 3}, custom, 95},
		{"configured Other", map[string]any{"confidence_id": 99}, custom, 50},
	}
	for _, tt := range tests {
		if got := Build(tt.det, tt.cfg)["confidence"]; got != tt.want {
			t.Errorf("%s: confidence %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestConfidenceOfView: Confidence reads a view's confidence as Build
// wrote it or after the JSON round trip the view makes into workflow code.
func TestConfidenceOfView(t *testing.T) {
	tests := []struct {
		name   string
		view   map[string]any
		want   int
		wantOK bool
	}{
		{"as built", Build(map[string]any{"confidence_score": 91}, DefaultConfig()), 91, true},
		{"after JSON", map[string]any{"confidence": 91.0}, 91, true},
		{"zero", map[string]any{"confidence": 0.0}, 0, true},
		{"unknown", Build(map[string]any{}, DefaultConfig()), 0, false},
		{"fractional is no confidence", map[string]any{"confidence": 91.5}, 0, false},
		{"nil view", nil, 0, false},
	}
	for _, tt := range tests {
		if got, ok := Confidence(tt.view); got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: Confidence = %d, %v; want %d, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestTime(t *testing.T) {
	tests := []struct {
		det  map[string]any
		want any
	}{
		{map[string]any{"time": 1723564700}, int64(1723564700000)},         // seconds (Okta, Prowler)
		{map[string]any{"time": 1695135922487}, int64(1695135922487)},      // milliseconds
		{map[string]any{"time": 1722327712967320.0}, int64(1722327712967)}, // microseconds
		{map[string]any{"time_dt": "2024-08-13T15:58:20.000Z"}, int64(1723564700000)},
		{map[string]any{"time_dt": "2023-09-19T11:05:22.487-04:00"}, int64(1695135922487)},
		{map[string]any{"time_dt": "2024-12-30T15:00:00.000000"}, int64(1735570800000)}, // no zone: UTC
		{map[string]any{"time_dt": "yesterday"}, nil},
		{map[string]any{}, nil},
	}
	for _, tt := range tests {
		if got := Build(tt.det, DefaultConfig())["time"]; got != tt.want {
			t.Errorf("%v: time %v (%T), want %v", tt.det, got, got, tt.want)
		}
	}
}

// RecordTime is when the producer last changed the finding: the
// modification time when the record has one, else its time.
func TestRecordTime(t *testing.T) {
	tests := []struct {
		name string
		det  map[string]any
		want int64
		ok   bool
	}{
		{"modified_time wins", map[string]any{"time": 1763458937000, "finding_info": map[string]any{"modified_time": 1763458997000}}, 1763458997000, true},
		{"modified_time in seconds", map[string]any{"finding_info": map[string]any{"modified_time": 1763458997}}, 1763458997000, true},
		{"modified_time_dt", map[string]any{"time": 1, "finding_info": map[string]any{"modified_time_dt": "2025-11-18T09:43:17Z"}}, 1763458997000, true},
		{"OCSF 1.0 finding", map[string]any{"finding": map[string]any{"modified_time": 1763458997000}}, 1763458997000, true},
		{"unreadable modified_time: time", map[string]any{"time": 1763458937000, "finding_info": map[string]any{"modified_time": "soon"}}, 1763458937000, true},
		{"time only", map[string]any{"time": 1763458937000}, 1763458937000, true},
		{"time_dt only", map[string]any{"time_dt": "2025-11-18T09:42:17Z"}, 1763458937000, true},
		{"none", map[string]any{"finding_info": map[string]any{"uid": "x"}}, 0, false},
	}
	for _, tt := range tests {
		if got, ok := RecordTime(tt.det); got != tt.want || ok != tt.ok {
			t.Errorf("%s: RecordTime = %d, %v; want %d, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEntitiesOrderSourcesAndDedup(t *testing.T) {
	det := map[string]any{
		"device":       map[string]any{"hostname": "fin-ws-042", "ip": "10.20.9.7"},
		"actor":        map[string]any{"user": map[string]any{"name": "j.moreau", "email_addr": "j.moreau@corp.example.com"}},
		"dst_endpoint": map[string]any{"ip": "203.0.113.77"},
		"observables": []any{
			map[string]any{"type_id": 1, "value": "FIN-WS-042"}, // duplicate, other case
			map[string]any{"type_id": 2, "value": "198.51.100.9"},
			map[string]any{"type_id": 8, "value": "ABCDEF"},
			map[string]any{"type": "URL String", "value": "https://evil.example/x"},
			map[string]any{"type_id": 5, "value": "boss@corp.example.com"},
		},
		"resources": []any{map[string]any{"uid": "arn:aws:iam::111122223333:role/admin", "type": "AwsIamRole"}},
		"evidences": []any{map[string]any{
			"process":      map[string]any{"file": map[string]any{"hashes": []any{map[string]any{"algorithm": "SHA-256", "value": "abcdef"}}}},
			"url":          map[string]any{"hostname": "evil.example"},
			"src_endpoint": map[string]any{"ip": "fd00::1"},
		}},
		"finding_info": map[string]any{"related_events": []any{map[string]any{"device": map[string]any{"hostname": "dc-01"}}}},
		"unmapped":     map[string]any{"z": map[string]any{"client_ip": "192.0.2.1"}, "a": map[string]any{"hostname": "web-03"}},
	}
	v := Build(det, DefaultConfig())
	check := func(kind string, want ...string) {
		t.Helper()
		var got []string
		var l []any
		if kind == "ips" {
			l = v["ips"].(map[string]any)["all"].([]any)
		} else {
			l = v[kind].([]any)
		}
		for _, e := range l {
			m := e.(map[string]any)
			got = append(got, m["value"].(string)+"@"+m["source"].(string))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", kind, got, want)
		}
	}
	check("hosts", "fin-ws-042@device.hostname", "dc-01@finding_info.related_events[0].device.hostname", "web-03@unmapped.a.hostname")
	check("users", "j.moreau@corp.example.com@actor.user.email_addr", "boss@corp.example.com@observables[4]")
	check("ips", "10.20.9.7@device.ip", "203.0.113.77@dst_endpoint.ip", "198.51.100.9@observables[1]", "fd00::1@evidences[0].src_endpoint.ip", "192.0.2.1@unmapped.z.client_ip")
	check("hashes", "abcdef@observables[2]")
	check("urls", "https://evil.example/x@observables[3]")
	check("domains", "evil.example@evidences[0].url.hostname")
	check("cloud_resources", "arn:aws:iam::111122223333:role/admin@resources[0].uid")
	ips := v["ips"].(map[string]any)
	if n, e := len(ips["internal"].([]any)), len(ips["external"].([]any)); n != 2 || e != 3 {
		t.Errorf("internal %d external %d, want 2 (10.20.9.7, fd00::1) and 3", n, e)
	}
	if p := Primary(v, "ips.external"); p != "203.0.113.77" {
		t.Errorf("primary external ip %q", p)
	}
	for _, tc := range []struct{ kind, source, want string }{
		{"ips", "dst_endpoint.ip", "203.0.113.77"},
		{"ips.internal", "evidences[0].src_endpoint.ip", "fd00::1"},
		{"ips", "src_endpoint.ip", ""},
		{"hosts", "", "fin-ws-042"},
		{"users", "observables[4]", "boss@corp.example.com"},
	} {
		if p := PrimaryFrom(v, tc.kind, tc.source); p != tc.want {
			t.Errorf("PrimaryFrom(%s, %s) = %q, want %q", tc.kind, tc.source, p, tc.want)
		}
	}
	if c := Counts(v); c["hosts"] != 3 || c["ips"] != 5 || c["users"] != 2 {
		t.Errorf("counts %v", c)
	}

	// The site's networks decide internal/external.
	cfg := DefaultConfig()
	cfg.InternalNetworks = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	ips = Build(det, cfg)["ips"].(map[string]any)
	if in := ips["internal"].([]any); len(in) != 1 || in[0].(map[string]any)["value"] != "203.0.113.77" {
		t.Errorf("with 203.0.113.0/24 internal: %v", in)
	}
}

func TestState(t *testing.T) {
	tests := []struct {
		det  map[string]any
		want string
	}{
		{map[string]any{"status_id": 1}, StateActive},
		{map[string]any{"status_id": 4, "status": "Resolved"}, StateWithdrawn},
		{map[string]any{"status_id": 3}, StateWithdrawn},
		{map[string]any{"state_id": 4}, StateWithdrawn}, // 2001
		{map[string]any{"activity_id": 3}, StateWithdrawn},
		{map[string]any{"activity_id": 2, "severity_id": 5}, StateActive}, // an update stays active
		{map[string]any{"finding_info": map[string]any{"verdict": "False Positive"}}, StateWithdrawn},
		{map[string]any{"status_code": "PASS"}, StateCompliancePass},
		{map[string]any{"status_code": "MANUAL"}, StateCompliancePass},
		{map[string]any{"status_code": "FAIL"}, StateActive},
		// OCSF verdict_id: 1 False Positive and 5 Benign withdraw; 2 True
		// Positive is a confirmation (schema.ocsf.io/1.7.0/data_types/verdict_id).
		{map[string]any{"verdict_id": 1}, StateWithdrawn},
		{map[string]any{"verdict_id": 5}, StateWithdrawn},
		{map[string]any{"verdict_id": 2}, StateActive},
		{map[string]any{"verdict_id": 2, "verdict": "True Positive"}, StateActive},
		{map[string]any{"verdict_id": 4}, StateActive},
		// A resolved record of a fixed control carries both: it withdraws.
		{map[string]any{"state_id": 4, "compliance": map[string]any{"status": "PASSED"}}, StateWithdrawn},
		{map[string]any{"status_id": 4, "status_code": "PASS"}, StateWithdrawn},
		{map[string]any{"state_id": 1, "compliance": map[string]any{"status": "PASSED"}}, StateCompliancePass},
	}
	for _, tt := range tests {
		if got := Build(tt.det, DefaultConfig())["state"]; got != tt.want {
			t.Errorf("%v: state %v, want %v", tt.det, got, tt.want)
		}
	}
}

// The view reaches workflow code: the same input always gives the same
// view, and it survives the JSON round trip into a workflow.
func TestDeterministic(t *testing.T) {
	det := map[string]any{
		"unmapped":    map[string]any{"b": map[string]any{"ip": "10.0.0.2"}, "a": map[string]any{"ip": "10.0.0.1"}, "c": []any{"x", map[string]any{"hostname": "h"}}},
		"observables": []any{map[string]any{"type_id": 2, "value": "10.0.0.3"}},
	}
	first, _ := json.Marshal(Build(det, DefaultConfig()))
	for i := 0; i < 50; i++ {
		again, _ := json.Marshal(Build(det, DefaultConfig()))
		if string(again) != string(first) {
			t.Fatalf("run %d differs:\n%s\n%s", i, again, first)
		}
	}
	var round map[string]any
	if err := json.Unmarshal(first, &round); err != nil {
		t.Fatal(err)
	}
	if Primary(round, "ips") != "10.0.0.3" {
		t.Errorf("after a JSON round trip: %v", round["ips"])
	}
}

func FuzzBuild(f *testing.F) {
	f.Add(`{"observables":[{"type_id":2,"value":"10.0.0.1"}],"time":1723564700}`)
	f.Add(`{"unmapped":{"a":{"b":{"c":{"hostname":"x"}}}},"confidence_id":3}`)
	f.Add(`{"evidences":[{"process":{"file":{"hashes":[{"value":"aa"}]}}}],"time_dt":"2024-01-01T00:00:00Z"}`)
	f.Fuzz(func(t *testing.T, src string) {
		var det map[string]any
		if json.Unmarshal([]byte(src), &det) != nil {
			return
		}
		v := Build(det, DefaultConfig())
		b1, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("view does not marshal: %v", err)
		}
		b2, _ := json.Marshal(Build(det, DefaultConfig()))
		if string(b1) != string(b2) {
			t.Fatal("not deterministic")
		}
		for _, k := range EntityKinds {
			if Counts(v)[k] > MaxEntities {
				t.Fatalf("%s over the bound", k)
			}
		}
	})
}

// finding.severity_id is a level to compare: 99 Other (not mapped) is no
// level, so it does not pass severity_id >= 4 as if above Critical.
func TestSeverityLevel(t *testing.T) {
	for _, c := range []struct {
		id   any
		want int
	}{{5, 5}, {6, 6}, {0, 0}, {99, 0}, {nil, 0}, {7, 0}, {-1, 0}, {4.0, 4}} {
		det := map[string]any{"severity": "Vendor level 7 of 7"}
		if c.id != nil {
			det["severity_id"] = c.id
		}
		if got := Build(det, DefaultConfig())["severity_id"]; got != c.want {
			t.Errorf("severity_id %v: view %v, want %d", c.id, got, c.want)
		}
	}
}
