package convert

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/intake"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// The vendor samples are the real ones of the intake corpus
// (internal/intake/testdata/real/README.md cites each source).
var samples = map[string]string{
	"crowdstrike-alert-epp.json":                    FormatCrowdStrike,
	"crowdstrike-alert-idp.json":                    FormatCrowdStrike,
	"crowdstrike-stream-epp-detection-summary.json": FormatCrowdStrike,
	"graph-alert-v2.json":                           FormatGraph,
	"elastic-security-alert.json":                   FormatElastic,
	"elastic-rule-alert-attack-8.19.json":           FormatElastic,
	"suricata-eve-alert.json":                       FormatSuricata,
}

func readSample(t *testing.T, name string) map[string]any {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "testdata", "real", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(src, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGolden converts each vendor sample, with its format named and
// auto-detected, and compares the OCSF finding with a golden file.
func TestGolden(t *testing.T) {
	for name, format := range samples {
		m := readSample(t, name)
		if got := Detect(m); got != format {
			t.Errorf("%s: detected as %q, want %q", name, got, format)
		}
		named, f, err := One(0, readSample(t, name), format)
		if err != nil || f != format {
			t.Fatalf("%s: %v (%q)", name, err, f)
		}
		auto, _, err := One(0, readSample(t, name), "")
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(auto)
		n, _ := json.Marshal(named)
		if !bytes.Equal(a, n) {
			t.Errorf("%s: auto-detected conversion differs from the named one", name)
		}
		// The original is kept verbatim.
		var raw map[string]any
		if err := json.Unmarshal([]byte(named["raw_data"].(string)), &raw); err != nil {
			t.Errorf("%s: raw_data: %v", name, err)
		}
		orig, _ := json.Marshal(m)
		back, _ := json.Marshal(raw)
		if !bytes.Equal(orig, back) {
			t.Errorf("%s: raw_data is not the original", name)
		}
		delete(named, "raw_data")
		got, _ := json.MarshalIndent(named, "", "  ")
		golden := filepath.Join("testdata", strings.TrimSuffix(name, ".json")+".ocsf.golden.json")
		if *update {
			if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (go test -update writes it)", err)
		}
		if !bytes.Equal(append(got, '\n'), want) {
			t.Errorf("%s: differs from %s (go test -update rewrites it):\n%s", name, golden, got)
		}
	}
}

// A Kibana detection alert carries its rule's ATT&CK mapping in
// kibana.alert.rule.threat (signal.rule.threat before 8.0); the top-level
// ECS threat is there only when the source event had one (Elastic Defend's
// alerts do, a query rule over Windows events does not). Both are read.
func TestElasticRuleThreat(t *testing.T) {
	threat := func(ids ...string) []any {
		var subs []any
		for _, id := range ids[1:] {
			subs = append(subs, map[string]any{"id": id})
		}
		return []any{map[string]any{"framework": "MITRE ATT&CK", "technique": []any{map[string]any{"id": ids[0], "subtechnique": subs}}}}
	}
	alert := func(extra map[string]any) map[string]any {
		m := map[string]any{"kibana.alert.uuid": "u", "kibana.alert.rule.name": "r", "@timestamp": "2025-06-02T07:08:52.979Z"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tt := range []struct {
		name string
		m    map[string]any
		want []string
	}{
		{"real 8.19 query rule alert, rule mapping only", readSample(t, "elastic-rule-alert-attack-8.19.json"), []string{"T1098"}},
		{"real Elastic Defend alert, top-level threat", readSample(t, "elastic-security-alert.json"), []string{"T1059", "T1059.004", "T1059.006", "T1132", "T1132.001"}},
		{"flattened key", alert(map[string]any{"kibana.alert.rule.threat": threat("T1110", "T1110.001", "T1110.003")}), []string{"T1110", "T1110.001", "T1110.003"}},
		{"nested objects", alert(map[string]any{"kibana": map[string]any{"alert": map[string]any{"rule": map[string]any{"threat": threat("T1110", "T1110.001")}}}}), []string{"T1110", "T1110.001"}},
		{"7.x signal.rule.threat", map[string]any{"kibana.alert.uuid": "u", "kibana.alert.rule.name": "r", "@timestamp": "2021-01-01T00:00:00Z", "signal": map[string]any{"rule": map[string]any{"threat": threat("T1003", "T1003.001")}}}, []string{"T1003", "T1003.001"}},
		{"union with top-level, deduplicated", alert(map[string]any{"threat": threat("T1059", "T1059.001"), "kibana.alert.rule.threat": threat("T1059", "T1059.001", "T1059.003")}), []string{"T1059", "T1059.001", "T1059.003"}},
		{"empty rule mapping", alert(map[string]any{"kibana.alert.rule.threat": []any{}}), nil},
		// ECS threat, an object of arrays, as Elastic's integrations write
		// a source event's (verbatim from elastic/integrations
		// packages/m365_defender/docs/README.md, the alert data stream's
		// sample event); an alert copies its source event's fields.
		{"ECS threat of a source event (m365_defender sample)", alert(map[string]any{"threat": map[string]any{
			"tactic":    map[string]any{"name": []any{"Execution"}},
			"technique": map[string]any{"subtechnique": map[string]any{"id": []any{"T1059.001"}}},
		}}), []string{"T1059", "T1059.001"}},
		{"ECS threat with ids and names", alert(map[string]any{"threat.framework": "MITRE ATT&CK",
			"threat.tactic.id": []any{"TA0006"}, "threat.tactic.name": []any{"Credential Access"},
			"threat.technique.id": []any{"T1003"}, "threat.technique.name": []any{"OS Credential Dumping"},
			"threat.technique.subtechnique.id": []any{"T1003.001"}, "threat.technique.subtechnique.name": []any{"LSASS Memory"},
		}), []string{"T1003", "T1003.001"}},
		{"ECS threat of another framework", alert(map[string]any{"threat": map[string]any{"framework": "MITRE ATLAS",
			"technique": map[string]any{"id": []any{"T1110"}}}}), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := One(0, tt.m, FormatElastic)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, id := range finding.AttackIDs(out) {
				got = append(got, id.(string))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("attack %q, want %q", got, tt.want)
			}
		})
	}
}

// Each Elastic threat entry names its tactic: every attack built from it
// carries that tactic, a technique under two tactics is two attacks, a
// tactic without techniques is an attack of its own, and another
// framework's entries are not ATT&CK.
func TestElasticRuleThreatTactics(t *testing.T) {
	entry := func(framework, tactic string, techs ...any) any {
		e := map[string]any{"framework": framework, "technique": techs}
		if tactic != "" {
			e["tactic"] = map[string]any{"id": tactic, "name": "n" + tactic, "reference": "https://attack.mitre.org/tactics/" + tactic + "/"}
		}
		return e
	}
	tech := func(id string, subs ...string) any {
		var sl []any
		for _, s := range subs {
			sl = append(sl, map[string]any{"id": s, "name": "n" + s})
		}
		return map[string]any{"id": id, "name": "n" + id, "subtechnique": sl}
	}
	m := map[string]any{"kibana.alert.uuid": "u", "kibana.alert.rule.name": "r", "@timestamp": "2025-06-02T07:08:52.979Z",
		"kibana.alert.rule.threat": []any{
			entry("MITRE ATT&CK", "TA0006", tech("T1003", "T1003.001")),
			entry("MITRE ATT&CK", "TA0004", tech("T1078")),
			entry("MITRE ATT&CK", "TA0005", tech("T1078")),
			entry("MITRE ATT&CK", "TA0010"),
			entry("MITRE ATLAS", "AML.TA0000", tech("AML.T0000")),
		}}
	out, _, err := One(0, m, FormatElastic)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range out["attacks"].([]any) {
		am := a.(map[string]any)
		var parts []string
		for _, k := range []string{"technique", "sub_technique", "tactic"} {
			if o, ok := am[k].(map[string]any); ok {
				parts = append(parts, k+"="+o["uid"].(string)+"/"+o["name"].(string))
			}
		}
		got = append(got, strings.Join(parts, " "))
	}
	want := []string{
		"tactic=TA0010/nTA0010",
		"technique=T1003/nT1003 tactic=TA0006/nTA0006",
		"technique=T1003/nT1003 sub_technique=T1003.001/nT1003.001 tactic=TA0006/nTA0006",
		"technique=T1078/nT1078 tactic=TA0004/nTA0004",
		"technique=T1078/nT1078 tactic=TA0005/nTA0005",
	}
	if !slices.Equal(got, want) {
		t.Errorf("attacks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ids := finding.AttackIDs(out); len(ids) != 3 {
		t.Errorf("attack ids %v, want T1003, T1003.001, T1078", ids)
	}
}

// An ECS threat field set (arrays, the tactic-to-technique link not kept)
// gives its techniques the tactic when there is one, and otherwise lists
// the tactics on their own.
func TestElasticECSThreatTactics(t *testing.T) {
	attacks := func(threat map[string]any) []string {
		t.Helper()
		out, _, err := One(0, map[string]any{"kibana.alert.uuid": "u", "kibana.alert.rule.name": "r", "@timestamp": "2025-06-02T07:08:52.979Z", "threat": threat}, FormatElastic)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range asList(out["attacks"]) {
			am := a.(map[string]any)
			var parts []string
			for _, k := range []string{"technique", "sub_technique", "tactic"} {
				if o, ok := am[k].(map[string]any); ok {
					parts = append(parts, fmt.Sprintf("%s=%v/%v", k, o["uid"], o["name"]))
				}
			}
			got = append(got, strings.Join(parts, " "))
		}
		return got
	}
	one := attacks(map[string]any{"framework": "MITRE ATT&CK",
		"tactic":    map[string]any{"id": []any{"TA0006"}, "name": []any{"Credential Access"}},
		"technique": map[string]any{"id": []any{"T1003"}, "name": []any{"OS Credential Dumping"}, "subtechnique": map[string]any{"id": []any{"T1003.001"}, "name": []any{"LSASS Memory"}}}})
	want := []string{
		"technique=T1003/OS Credential Dumping tactic=TA0006/Credential Access",
		"technique=T1003/OS Credential Dumping sub_technique=T1003.001/LSASS Memory tactic=TA0006/Credential Access",
	}
	if !slices.Equal(one, want) {
		t.Errorf("one tactic:\n%s\nwant:\n%s", strings.Join(one, "\n"), strings.Join(want, "\n"))
	}
	two := attacks(map[string]any{
		"tactic":    map[string]any{"id": []any{"TA0004", "TA0005"}, "name": []any{"Privilege Escalation", "Defense Evasion"}},
		"technique": map[string]any{"id": "T1078"}})
	want = []string{
		"tactic=TA0004/Privilege Escalation",
		"tactic=TA0005/Defense Evasion",
		"technique=T1078/<nil>",
	}
	if !slices.Equal(two, want) {
		t.Errorf("two tactics:\n%s\nwant:\n%s", strings.Join(two, "\n"), strings.Join(want, "\n"))
	}
}

// A vendor's last-change time becomes finding_info.modified_time, which
// tells a reopened alert from its Create delivered after the Close
// (finding.RecordTime).
func TestModifiedTime(t *testing.T) {
	cs := readSample(t, "crowdstrike-alert-epp.json")
	elastic := readSample(t, "elastic-security-alert.json")
	reopened := maps.Clone(elastic)
	reopened["kibana.alert.workflow_status"] = "open"
	reopened["kibana.alert.workflow_status_updated_at"] = "2024-06-10T08:00:00.000Z"
	reopened["kibana.alert.updated_at"] = "2024-06-10T07:00:00.000Z"
	for _, tt := range []struct {
		name   string
		m      map[string]any
		format string
		want   any
	}{
		{"CrowdStrike updated_timestamp", cs, FormatCrowdStrike, int64(1699038023985)},
		{"Elastic alert never updated", elastic, FormatElastic, nil},
		{"Elastic alert opened again: the later of its update times", reopened, FormatElastic, int64(1718006400000)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := One(0, tt.m, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			fi := out["finding_info"].(map[string]any)
			if got := fi["modified_time"]; got != tt.want {
				t.Errorf("modified_time %v (%T), want %v", got, got, tt.want)
			}
		})
	}
}

// OCSF process.pid is an Integer. The vendors write it as a string
// (CrowdStrike local_process_id) or a number (Graph processId, Elastic
// process.pid); the converted finding holds an int either way, decoded as
// the API decodes a body (intake.Decode) or by encoding/json (float64).
func TestProcessPIDIsInteger(t *testing.T) {
	for _, tt := range []struct {
		sample string
		want   []int
	}{
		{"crowdstrike-alert-epp.json", []int{17076}},
		{"graph-alert-v2.json", []int{4780}},
		{"elastic-security-alert.json", []int{141206}},
	} {
		src, err := os.ReadFile(filepath.Join("..", "testdata", "real", tt.sample))
		if err != nil {
			t.Fatal(err)
		}
		dets, err := intake.Decode(bytes.NewReader(src), intake.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for how, m := range map[string]map[string]any{"intake.Decode": dets[0], "encoding/json": readSample(t, tt.sample)} {
			out, _, err := One(0, m, "")
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, ev := range asList(out["evidences"]) {
				p, ok := asMap(asMap(ev)["process"])["pid"]
				if !ok {
					continue
				}
				n, isInt := p.(int)
				if !isInt {
					t.Errorf("%s (%s): process.pid %#v is a %T, want an int", tt.sample, how, p, p)
				}
				got = append(got, n)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s (%s): pids %v, want %v", tt.sample, how, got, tt.want)
			}
		}
	}
	// A pid that is not a whole number in OCSF's integer range is left out
	// rather than sent as text.
	for _, tt := range []struct {
		in   any
		want any
	}{
		{"17076", 17076},
		{" 4 ", 4},
		{float64(141206), 141206},
		{int64(4780), 4780},
		{"0", 0},
		{"", nil},
		{"n/a", nil},
		{"0x42a4", nil},
		{"-1", nil},
		{1.5, nil},
		{"2147483648", nil},
		{true, nil},
	} {
		out, _, err := One(0, map[string]any{"composite_id": "c", "timestamp": "2023-11-03T18:00:22.328Z", "local_process_id": tt.in}, FormatCrowdStrike)
		if err != nil {
			t.Fatal(err)
		}
		var got any
		for _, ev := range asList(out["evidences"]) {
			got = asMap(asMap(ev)["process"])["pid"]
		}
		if got != tt.want {
			t.Errorf("local_process_id %#v: process.pid %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestDetectIsConservative(t *testing.T) {
	for _, tt := range []struct {
		name string
		m    map[string]any
	}{
		{"OCSF with a vendor-looking field", map[string]any{"class_uid": 2004, "event_type": "alert", "alert": map[string]any{"signature_id": 1}, "src_ip": "10.0.0.1"}},
		{"EVE flow record", map[string]any{"event_type": "flow", "src_ip": "10.0.0.1"}},
		{"EVE alert without addresses", map[string]any{"event_type": "alert", "alert": map[string]any{"signature_id": 1}}},
		{"composite_id alone", map[string]any{"composite_id": "x"}},
		{"Graph legacy alert (v1)", map[string]any{"@odata.type": "#microsoft.graph.alert", "id": "x"}},
		{"Kibana rule without an alert", map[string]any{"kibana.alert.rule.name": "x"}},
		{"empty", map[string]any{}},
	} {
		if got := Detect(tt.m); got != "" {
			t.Errorf("%s: detected as %q, want none (OCSF validation then names what is missing)", tt.name, got)
		}
	}
}

func TestBadVendorRecords(t *testing.T) {
	for _, tt := range []struct {
		format string
		m      map[string]any
		path   string
	}{
		{FormatSuricata, map[string]any{"event_type": "flow"}, "event_type"},
		{FormatSuricata, map[string]any{"event_type": "alert", "alert": map[string]any{"signature_id": 1}, "timestamp": "yesterday"}, "timestamp"},
		{FormatSuricata, map[string]any{"event_type": "alert", "alert": map[string]any{}, "timestamp": "2017-04-07T22:24:37.251547+0100"}, "alert.signature_id"},
		{FormatGraph, map[string]any{"title": "x"}, "id"},
		{FormatGraph, map[string]any{"id": "x", "createdDateTime": "soon"}, "createdDateTime"},
		{FormatCrowdStrike, map[string]any{"name": "x"}, "composite_id"},
		{FormatCrowdStrike, map[string]any{"metadata": map[string]any{"eventType": "EppDetectionSummaryEvent"}, "event": map[string]any{"Hostname": "h"}}, "event.CompositeId"},
		{FormatCrowdStrike, map[string]any{"metadata": map[string]any{"eventType": "EppDetectionSummaryEvent"}, "event": map[string]any{"CompositeId": "c"}}, "metadata.eventCreationTime"},
		{FormatElastic, map[string]any{"@timestamp": "2024-06-09T13:56:03.205Z"}, "kibana.alert.uuid"},
		{"splunk", map[string]any{}, ""},
	} {
		_, _, err := One(3, tt.m, tt.format)
		ce, ok := err.(*Error)
		if !ok || ce.Path != tt.path || ce.Index != 3 {
			t.Errorf("%s %v: error %v, want one at %q of detection 3", tt.format, tt.m, err, tt.path)
		}
	}
}

func FuzzConvert(f *testing.F) {
	for name := range samples {
		src, _ := os.ReadFile(filepath.Join("..", "testdata", "real", name))
		f.Add(string(src), "")
	}
	f.Add(`{"event_type":"alert","alert":{"signature_id":1,"severity":9},"src_ip":"x","timestamp":"2017-04-07T22:24:37+0100"}`, "suricata")
	f.Add(`{"kibana":{"alert":{"uuid":"u","rule":{"name":"r"}}},"@timestamp":"2024-01-01T00:00:00Z","host":{"ip":"::1"}}`, "elastic")
	f.Fuzz(func(t *testing.T, src, format string) {
		var m map[string]any
		if json.Unmarshal([]byte(src), &m) != nil || m == nil {
			return
		}
		out, _, err := One(0, m, format)
		if err != nil {
			return
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("converted finding does not marshal: %v", err)
		}
	})
}
