package intake

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func newTestValidator(t testing.TB) *Validator {
	t.Helper()
	v, err := NewValidator()
	if err != nil {
		t.Fatalf("NewValidator: %v", err)
	}
	return v
}

// validDetection is the smallest detection the schema accepts, plus the
// optional checked fields.
const validDetection = `{
	"class_uid": 2004,
	"time": 1763458937000,
	"severity_id": 5,
	"confidence_score": 92,
	"metadata": {"product": {"name": "Sentinel-LLM Triage", "vendor_name": "Halyard", "uid": "sllm", "version": "2.7.1"}},
	"finding_info": {"uid": "sllm-1", "title": "LSASS dump"},
	"attacks": [{"technique": {"uid": "T1003.001"}}]
}`

func decodeOne(t testing.TB, body string) Detection {
	t.Helper()
	dets, err := Decode(strings.NewReader(body), DecodeOptions{})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(dets) != 1 {
		t.Fatalf("Decode: %d detections, want 1", len(dets))
	}
	return dets[0]
}

func TestValidateExamples(t *testing.T) {
	v := newTestValidator(t)
	want := map[string]int{
		"credential-dumping.json": 1,
		"c2-beaconing.json":       1,
		"low-confidence.json":     1,
		"phishing-click.ndjson":   2,
	}
	for _, file := range exampleFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			dets, err := Decode(f, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if n, ok := want[filepath.Base(file)]; ok && len(dets) != n {
				t.Errorf("%d detections, want %d", len(dets), n)
			}
			if errs := v.Validate(dets); errs != nil {
				t.Errorf("example is invalid: %v", errs)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	v := newTestValidator(t)
	tests := []struct {
		name   string
		mutate func(d Detection)
		want   []FieldError // Index is always 0
	}{
		{"valid", func(Detection) {}, nil},
		{"class_uid is required", func(d Detection) { delete(d, "class_uid") },
			[]FieldError{{Path: "class_uid", Message: "is required"}}},
		{"confidence_score is optional", func(d Detection) { delete(d, "confidence_score") }, nil},
		{"title is optional", func(d Detection) { delete(obj(d, "finding_info"), "title") }, nil},
		{"product extras are optional", func(d Detection) {
			p := obj(d, "metadata", "product")
			delete(p, "vendor_name")
			delete(p, "uid")
			delete(p, "version")
		}, nil},
		{"integral float is an integer", func(d Detection) { d["confidence_score"] = 92.0 }, nil},
		{"severity 99 Other", func(d Detection) { d["severity_id"] = 99 }, nil},
		{"confidence bounds", func(d Detection) { d["confidence_score"] = 100 }, nil},
		{"unknown fields pass", func(d Detection) { d["x_vendor"] = map[string]any{"anything": []any{1, "two", nil}} }, nil},

		{"missing finding_info", func(d Detection) { delete(d, "finding_info") },
			[]FieldError{{Path: "finding_info", Message: "is required"}}},
		{"missing finding_info.uid", func(d Detection) { delete(obj(d, "finding_info"), "uid") },
			[]FieldError{{Path: "finding_info.uid", Message: "is required"}}},
		{"missing severity_id", func(d Detection) { delete(d, "severity_id") },
			[]FieldError{{Path: "severity_id", Message: "is required"}}},
		{"missing time", func(d Detection) { delete(d, "time") },
			[]FieldError{{Path: "time", Message: "is required (epoch milliseconds, or time_dt as an RFC 3339 date-time)"}}},
		{"missing metadata", func(d Detection) { delete(d, "metadata") },
			[]FieldError{{Path: "metadata", Message: "is required"}}},
		{"missing metadata.product", func(d Detection) { delete(obj(d, "metadata"), "product") },
			[]FieldError{{Path: "metadata.product", Message: "is required"}}},
		{"missing metadata.product.name (OCSF only recommends it)", func(d Detection) { delete(obj(d, "metadata", "product"), "name") }, nil},
		{"all required missing", func(d Detection) { clear(d) }, []FieldError{
			{Path: "class_uid", Message: "is required"},
			{Path: "finding_info", Message: "is required"},
			{Path: "metadata", Message: "is required"},
			{Path: "severity_id", Message: "is required"},
			{Path: "time", Message: "is required (epoch milliseconds, or time_dt as an RFC 3339 date-time)"},
		}},

		{"class_uid 1001", func(d Detection) { d["class_uid"] = 1001 },
			[]FieldError{{Path: "class_uid", Message: "must be 2004 (Detection Finding) or 2001 (Security Finding, mapped), got 1001"}}},
		{"class_uid as string", func(d Detection) { d["class_uid"] = "2004" },
			[]FieldError{{Path: "class_uid", Message: `must be 2004 (Detection Finding) or 2001 (Security Finding, mapped), got "2004"`}}},
		{"confidence 150", func(d Detection) { d["confidence_score"] = 150 },
			[]FieldError{{Path: "confidence_score", Message: "must be an integer between 0 and 100, got 150"}}},
		{"confidence -1", func(d Detection) { d["confidence_score"] = -1 },
			[]FieldError{{Path: "confidence_score", Message: "must be an integer between 0 and 100, got -1"}}},
		{"confidence fractional", func(d Detection) { d["confidence_score"] = 92.5 },
			[]FieldError{{Path: "confidence_score", Message: "must be an integer between 0 and 100, got 92.5"}}},
		{"confidence string", func(d Detection) { d["confidence_score"] = "high" },
			[]FieldError{{Path: "confidence_score", Message: `must be an integer between 0 and 100, got "high"`}}},
		{"severity_id 7", func(d Detection) { d["severity_id"] = 7 },
			[]FieldError{{Path: "severity_id", Message: "must be one of 0, 1, 2, 3, 4, 5, 6, 99, got 7"}}},
		{"severity_id string", func(d Detection) { d["severity_id"] = "Critical" },
			[]FieldError{{Path: "severity_id", Message: `must be one of 0, 1, 2, 3, 4, 5, 6, 99, got "Critical"`}}},
		{"severity_id null", func(d Detection) { d["severity_id"] = nil },
			[]FieldError{{Path: "severity_id", Message: "must be one of 0, 1, 2, 3, 4, 5, 6, 99, got null"}}},
		{"time as RFC 3339 string", func(d Detection) { d["time"] = "2025-11-18T09:42:17Z" },
			[]FieldError{{Path: "time", Message: `must be an integer, got "2025-11-18T09:42:17Z"`}}},
		{"time fractional", func(d Detection) { d["time"] = 1763458937.5 },
			[]FieldError{{Path: "time", Message: "must be an integer, got 1763458937.5"}}},
		{"finding_info string", func(d Detection) { d["finding_info"] = "sllm-1" },
			[]FieldError{{Path: "finding_info", Message: `must be an object, got "sllm-1"`}}},
		{"finding_info array", func(d Detection) { d["finding_info"] = []any{} },
			[]FieldError{{Path: "finding_info", Message: "must be an object, got an array"}}},
		{"uid empty", func(d Detection) { obj(d, "finding_info")["uid"] = "" },
			[]FieldError{{Path: "finding_info.uid", Message: `must be a non-empty string, got ""`}}},
		{"uid blank", func(d Detection) { obj(d, "finding_info")["uid"] = " \t" },
			[]FieldError{{Path: "finding_info.uid", Message: `must be a non-empty string, got " \t"`}}},
		{"uid number", func(d Detection) { obj(d, "finding_info")["uid"] = 17 },
			[]FieldError{{Path: "finding_info.uid", Message: "must be a non-empty string, got 17"}}},
		{"title number", func(d Detection) { obj(d, "finding_info")["title"] = 3 },
			[]FieldError{{Path: "finding_info.title", Message: "must be a string, got 3"}}},
		{"metadata.product string", func(d Detection) { obj(d, "metadata")["product"] = "Sentinel" },
			[]FieldError{{Path: "metadata.product", Message: `must be an object, got "Sentinel"`}}},
		{"product version number", func(d Detection) { obj(d, "metadata", "product")["version"] = 2.7 },
			[]FieldError{{Path: "metadata.product.version", Message: "must be a string, got 2.7"}}},
		{"product name bool", func(d Detection) { obj(d, "metadata", "product")["name"] = true },
			[]FieldError{{Path: "metadata.product.name", Message: "must be a string, got true"}}},
		{"long value is cut in the message", func(d Detection) { d["time"] = strings.Repeat("A", 500) },
			[]FieldError{{Path: "time", Message: `must be an integer, got "` + strings.Repeat("A", 40) + `"…`}}},
		{"several errors at once", func(d Detection) {
			d["class_uid"] = 1001
			d["confidence_score"] = 150
			delete(obj(d, "finding_info"), "uid")
			obj(d, "metadata", "product")["name"] = 1
		}, []FieldError{
			{Path: "class_uid", Message: "must be 2004 (Detection Finding) or 2001 (Security Finding, mapped), got 1001"},
			{Path: "confidence_score", Message: "must be an integer between 0 and 100, got 150"},
			{Path: "finding_info.uid", Message: "is required"},
			{Path: "metadata.product.name", Message: "must be a string, got 1"},
		}},
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

func TestValidateEdgeCases(t *testing.T) {
	v := newTestValidator(t)
	if got := v.Validate(nil); got != nil {
		t.Errorf("Validate(nil) = %v, want nil", got)
	}
	got := v.Validate([]Detection{nil})
	if len(got) != 5 {
		t.Errorf("nil detection: %v, want the 5 required fields", got)
	}
	// Hand-built detections may hold non-JSON Go values; no panic, clear error.
	d := decodeOne(t, validDetection)
	d["time"] = struct{}{}
	got = v.Validate([]Detection{d})
	if len(got) != 1 || got[0].Path != "time" || !strings.Contains(got[0].Message, "not a JSON value") {
		t.Errorf("non-JSON value: %v", got)
	}
	d = decodeOne(t, validDetection)
	d["time"] = int64(1763458937000)
	d["confidence_score"] = json.Number("92")
	if got := v.Validate([]Detection{d}); got != nil {
		t.Errorf("int64/json.Number values: %v", got)
	}
}

// TestValidateGolden validates a batch of detections with several errors
// each and compares the exact paths and messages with a golden file.
func TestValidateGolden(t *testing.T) {
	v := newTestValidator(t)
	f, err := os.Open(filepath.Join("testdata", "invalid-batch.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dets, err := Decode(f, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs := v.Validate(dets)
	got := append(mustJSON(t, errs), '\n')
	golden(t, filepath.Join("testdata", "invalid-batch.golden.json"), got)

	for _, e := range errs {
		if e.Index == 0 {
			t.Errorf("detection 0 is valid but got %v", e)
		}
	}
}

func TestValidatorConcurrentUse(t *testing.T) {
	v := newTestValidator(t)
	good := decodeOne(t, validDetection)
	bad := decodeOne(t, validDetection)
	bad["confidence_score"] = 150
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				d := good
				if i%2 == 1 {
					d = bad
				}
				errs := v.Validate([]Detection{d})
				if (len(errs) == 0) != (i%2 == 0) {
					t.Errorf("goroutine %d: unexpected result %v", i, errs)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestSchemaJSON(t *testing.T) {
	s := SchemaJSON()
	var doc map[string]any
	if err := json.Unmarshal(s, &doc); err != nil {
		t.Fatalf("embedded schema is not JSON: %v", err)
	}
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" || doc["$id"] != schemaURL {
		t.Errorf("$schema/$id = %v / %v", doc["$schema"], doc["$id"])
	}
	s[0] = 'X'
	if SchemaJSON()[0] == 'X' {
		t.Error("SchemaJSON returned the embedded slice instead of a copy")
	}
}

func BenchmarkValidate(b *testing.B) {
	v := newTestValidator(b)
	d := decodeOne(b, readExample(b, "credential-dumping.json"))
	dets := []Detection{d}
	b.ReportAllocs()
	for b.Loop() {
		if errs := v.Validate(dets); errs != nil {
			b.Fatal(errs)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	body := []byte(readExample(b, "credential-dumping.json"))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(body), DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// obj returns the nested object at keys.
func obj(d Detection, keys ...string) map[string]any {
	m := map[string]any(d)
	for _, k := range keys {
		m = m[k].(map[string]any)
	}
	return m
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestFieldErrorString(t *testing.T) {
	if got := (FieldError{Index: 2, Path: "severity_id", Message: "is required"}).String(); got != "detection 2: severity_id: is required" {
		t.Errorf("String = %q", got)
	}
	if got := (FieldError{Index: 0, Message: "is odd"}).String(); got != "detection 0: is odd" {
		t.Errorf("String = %q", got)
	}
}

// TestEveryOCSFVersion: a Detection Finding that says it is OCSF 1.0-rc.2
// to 1.8 (the corpus has real records of each but 1.2, of which no
// published record was found) is valid and read without a version
// warning; a version outside 1.x is valid but warned about.
func TestEveryOCSFVersion(t *testing.T) {
	v := newTestValidator(t)
	for _, c := range []struct {
		version string
		warned  bool
	}{
		{"1.0.0-rc.2", false}, {"1.0.0", false}, {"1.1.0", false}, {"1.2.0", false}, {"1.3.0", false},
		{"1.4.0", false}, {"1.5.0", false}, {"1.6.0", false}, {"1.7.0", false}, {"1.8.0", false},
		{"1.9.0", true}, {"2.0.0", true}, {"0.9", true}, {"one", true},
	} {
		d := decodeOne(t, validDetection)
		md, _ := d["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
			d["metadata"] = md
		}
		md["version"] = c.version
		if errs := v.Validate([]Detection{d}); errs != nil {
			t.Errorf("%s: %v", c.version, errs)
		}
		warned := false
		for _, w := range Warnings(0, d, nil) {
			warned = warned || w.Path == "metadata.version"
		}
		if warned != c.warned {
			t.Errorf("%s: version warning %v, want %v", c.version, warned, c.warned)
		}
	}
}

// The warning names the unit the time was read in, by the same magnitudes
// as finding.TimeMS.
func TestTimeUnitWarnings(t *testing.T) {
	for _, c := range []struct {
		time int
		want string // "" for no warning
	}{
		{1723564700123, ""},
		{1723564700, "1723564700 read as epoch seconds (OCSF wants milliseconds)"},
		{1723564700123456, "1723564700123456 read as epoch microseconds (OCSF wants milliseconds)"},
		{1723564700123456789, "1723564700123456789 read as epoch nanoseconds (OCSF wants milliseconds)"},
		{0, "0 is the epoch itself (1970-01-01T00:00:00Z): the producer did not set the time"},
	} {
		var got string
		for _, w := range Warnings(0, Detection{"time": c.time}, nil) {
			if w.Path == "time" {
				got = w.Message
			}
		}
		if got != c.want {
			t.Errorf("time %d: warning %q, want %q", c.time, got, c.want)
		}
	}
}
