package intake

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAccessorsExamples(t *testing.T) {
	type want struct {
		uid, product, severity, model, title string
		severityID, confidence               int
		hasConfidence                        bool
		key                                  string
	}
	tests := []struct {
		file string
		want []want
	}{
		{"credential-dumping.json", []want{{
			uid: "sllm-2025-11-18-000417", product: "Sentinel-LLM Triage", severity: "Critical",
			model: "Sentinel-LLM Triage/2.7.1", title: "LSASS memory dumped with comsvcs.dll MiniDump",
			severityID: 5, confidence: 92, hasConfidence: true,
			key: "sentinel-llm-triage.sllm-2025-11-18-000417.",
		}}},
		{"c2-beaconing.json", []want{{
			uid: "twndr-5f1e0a77c2", product: "Tidewatch NDR Copilot", severity: "High",
			model: "Tidewatch NDR Copilot/1.12.0", title: "Periodic HTTPS beaconing to a newly registered domain",
			severityID: 4, confidence: 84, hasConfidence: true,
			key: "tidewatch-ndr-copilot.twndr-5f1e0a77c2.",
		}}},
		{"low-confidence.json", []want{{
			uid: "sllm-2025-11-18-000512", product: "Sentinel-LLM Triage", severity: "Medium",
			model: "Sentinel-LLM Triage/2.7.1", title: "Possibly malicious encoded PowerShell from Excel",
			severityID: 3, confidence: 35, hasConfidence: true,
			key: "sentinel-llm-triage.sllm-2025-11-18-000512.",
		}}},
		{"phishing-click.ndjson", []want{
			{
				uid: "mg-7b1d0e44-01", product: "MailGuard AI", severity: "High", model: "MailGuard AI/4.3.0",
				title:      "User clicked credential-harvesting link in payroll-themed email",
				severityID: 4, confidence: 88, hasConfidence: true, key: "mailguard-ai.mg-7b1d0e44-01.",
			},
			{
				uid: "mg-7b1d0e44-02", product: "MailGuard AI", severity: "High", model: "MailGuard AI/4.3.0",
				title:      "Second recipient clicked the same payroll phishing link",
				severityID: 4, confidence: 79, hasConfidence: true, key: "mailguard-ai.mg-7b1d0e44-02.",
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			dets, err := Decode(strings.NewReader(readExample(t, tt.file)), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(dets) != len(tt.want) {
				t.Fatalf("%d detections, want %d", len(dets), len(tt.want))
			}
			for i, w := range tt.want {
				d := dets[i]
				conf, ok := d.Confidence()
				got := want{
					uid: d.UID(), product: d.Product(), severity: d.Severity(), model: d.DetectorModel(),
					title: d.Title(), severityID: d.SeverityID(), confidence: conf, hasConfidence: ok,
					key: d.Key()[:len(w.key)],
				}
				if got != w {
					t.Errorf("detection %d:\n got %+v\nwant %+v", i, got, w)
				}
			}
		})
	}
}

func TestAccessorsTolerateMissingAndMistyped(t *testing.T) {
	for _, d := range []Detection{
		nil,
		{},
		{"finding_info": "x", "metadata": []any{1}, "severity_id": "5", "confidence_score": "92", "severity": 5},
		{"finding_info": map[string]any{"uid": 7, "title": false}, "metadata": map[string]any{"product": nil}},
	} {
		if got := d.UID(); got != "" {
			t.Errorf("UID = %q", got)
		}
		if got := d.Product(); got != UnknownProduct {
			t.Errorf("Product = %q", got)
		}
		if got := d.SeverityID(); got != 0 {
			t.Errorf("SeverityID = %d", got)
		}
		if got := d.Severity(); got != "Unknown" {
			t.Errorf("Severity = %q", got)
		}
		if got := d.DetectorModel(); got != UnknownProduct {
			t.Errorf("DetectorModel = %q", got)
		}
		if got := d.Title(); got != "" {
			t.Errorf("Title = %q", got)
		}
		if n, ok := d.Confidence(); ok || n != 0 {
			t.Errorf("Confidence = %d, %v", n, ok)
		}
		if got, want := d.Key(), makeKey(UnknownProduct, ""); got != want || !strings.HasPrefix(got, "unknown.none.") {
			t.Errorf("Key = %q, want %q", got, want)
		}
	}
}

func TestAccessorFallbacks(t *testing.T) {
	tests := []struct {
		name string
		body string
		get  func(Detection) any
		want any
	}{
		{"product falls back to vendor", `{"metadata":{"product":{"vendor_name":"Halyard"}}}`, s(Detection.Product), "Halyard"},
		{"blank product name falls back", `{"metadata":{"product":{"name":"  ","vendor_name":"Halyard"}}}`, s(Detection.Product), "Halyard"},
		{"product is trimmed", `{"metadata":{"product":{"name":" Sentinel \n"}}}`, s(Detection.Product), "Sentinel"},
		{"model without version", `{"metadata":{"product":{"name":"Sentinel"}}}`, s(Detection.DetectorModel), "Sentinel"},
		{"model ignores vendor", `{"metadata":{"product":{"vendor_name":"Halyard"}}}`, s(Detection.DetectorModel), UnknownProduct},
		{"model from analytic", `{"finding_info":{"analytic":{"name":"lsass-classifier","version":"2025.10"}}}`, s(Detection.DetectorModel), "lsass-classifier/2025.10"},
		{"product wins over analytic", `{"metadata":{"product":{"name":"Sentinel","version":"2"}},"finding_info":{"analytic":{"name":"x"}}}`, s(Detection.DetectorModel), "Sentinel/2"},
		{"own severity string wins", `{"severity_id":1,"severity":"Sev-2"}`, s(Detection.Severity), "Sev-2"},
		{"blank severity string ignored", `{"severity_id":4,"severity":" "}`, s(Detection.Severity), "High"},
		{"severity 0", `{"severity_id":0}`, s(Detection.Severity), "Unknown"},
		{"severity 1", `{"severity_id":1}`, s(Detection.Severity), "Informational"},
		{"severity 2", `{"severity_id":2}`, s(Detection.Severity), "Low"},
		{"severity 3", `{"severity_id":3}`, s(Detection.Severity), "Medium"},
		{"severity 4", `{"severity_id":4}`, s(Detection.Severity), "High"},
		{"severity 5", `{"severity_id":5}`, s(Detection.Severity), "Critical"},
		{"severity 6", `{"severity_id":6}`, s(Detection.Severity), "Fatal"},
		{"severity 99", `{"severity_id":99}`, s(Detection.Severity), "Other"},
		{"severity out of enum", `{"severity_id":42}`, s(Detection.Severity), "Unknown"},
		{"severity id from 4.0", `{"severity_id":4.0}`, func(d Detection) any { return d.SeverityID() }, 4},
		{"severity id fractional", `{"severity_id":4.5}`, func(d Detection) any { return d.SeverityID() }, 0},
		{"title falls back to message", `{"message":" eng-lt-117 beaconing "}`, s(Detection.Title), "eng-lt-117 beaconing"},
		{"title wins over message", `{"message":"m","finding_info":{"title":"t"}}`, s(Detection.Title), "t"},
		{"uid is not trimmed", `{"finding_info":{"uid":" a "}}`, s(Detection.UID), " a "},
		{"confidence 0", `{"confidence_score":0}`, confidence, "0 true"},
		{"confidence 92.0", `{"confidence_score":92.0}`, confidence, "92 true"},
		{"confidence 92.5", `{"confidence_score":92.5}`, confidence, "0 false"},
		{"confidence out of range is reported", `{"confidence_score":150}`, confidence, "150 true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.get(decodeOne(t, tt.body)); got != tt.want {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// s adapts a string accessor to the table's getter type.
func s(f func(Detection) string) func(Detection) any {
	return func(d Detection) any { return f(d) }
}

func confidence(d Detection) any {
	n, ok := d.Confidence()
	return fmt.Sprintf("%d %v", n, ok)
}

func TestAccessorsBoundLength(t *testing.T) {
	long := strings.Repeat("é", 1000) // 2 bytes per rune
	d := Detection{
		"severity": long,
		"message":  long,
		"metadata": map[string]any{"product": map[string]any{"name": long, "version": "1"}},
	}
	for name, s := range map[string]string{
		"Product": d.Product(), "Severity": d.Severity(), "DetectorModel": d.DetectorModel(), "Title": d.Title(),
	} {
		if len(s) > 256 || !utf8.ValidString(s) { // README: truncated to 256 bytes
			t.Errorf("%s: %d bytes, valid UTF-8 %v", name, len(s), utf8.ValidString(s))
		}
	}
}

var keyPattern = regexp.MustCompile(`^[a-z0-9._-]+$`)

func TestKey(t *testing.T) {
	key := func(product, uid string) string {
		return Detection{
			"metadata":     map[string]any{"product": map[string]any{"name": product}},
			"finding_info": map[string]any{"uid": uid},
		}.Key()
	}

	// Pinned value: workflow ids built from Key must not change between
	// releases, or running workflows would be duplicated.
	if got, want := key("Sentinel-LLM Triage", "sllm-2025-11-18-000417"), "sentinel-llm-triage.sllm-2025-11-18-000417.xkfbggcv3n6jna77"; got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}

	// Stable: same input, same key, whatever the key order of the JSON.
	a := decodeOne(t, `{"finding_info":{"uid":"x-1"},"metadata":{"product":{"name":"P","version":"1"}}}`)
	b := decodeOne(t, `{"metadata":{"product":{"version":"2","name":"P"}},"finding_info":{"title":"t","uid":"x-1"}}`)
	if k := a.Key(); k != b.Key() || k != a.Key() {
		t.Errorf("unstable key: %q vs %q", a.Key(), b.Key())
	}

	// Collision-free after sanitising.
	pairs := [][2]string{
		{"A B", "x"}, {"a_b", "x"}, {"a-b", "x"}, {"a b", "x"}, {"a  b", "x"}, {"A/B", "x"}, {"a.b", "x"},
		{"ab", "c"}, {"a", "bc"}, {"a.b", "c"}, {"a", "b.c"},
		{"P", "ID-1"}, {"P", "id-1"}, {"P", "id 1"}, {"P", "id/1"}, {"P", "id\x001"}, {"P", "ïd-1"},
		{"P", ""}, {"P", " "}, {"", "x"}, {"unknown", "x"}, // "" means "unknown" (Product fallback)
		{"P", strings.Repeat("a", 300) + "1"}, {"P", strings.Repeat("a", 300) + "2"},
		{strings.Repeat("p", 300) + "1", "x"}, {strings.Repeat("p", 300) + "2", "x"},
	}
	seen := map[string][2]string{}
	for _, p := range pairs {
		k := key(p[0], p[1])
		if !keyPattern.MatchString(k) || len(k) > 120 { // README: at most 120 bytes
			t.Errorf("Key(%q, %q) = %q: not [a-z0-9._-]{1,120}", p[0], p[1], k)
		}
		if prev, dup := seen[k]; dup {
			if p[0] == "" && prev[0] == "unknown" || p[0] == "unknown" && prev[0] == "" {
				continue // same Product() value, same pair by definition
			}
			t.Errorf("Key collision: %q and %q both give %q", prev, p, k)
		}
		seen[k] = p
	}
	if got := key("A B", "x"); !strings.HasPrefix(got, "a-b.x.") {
		t.Errorf(`Key("A B","x") = %q, want prefix "a-b.x."`, got)
	}
	if got := key("a_b", "x"); !strings.HasPrefix(got, "a_b.x.") {
		t.Errorf(`Key("a_b","x") = %q, want prefix "a_b.x."`, got)
	}
	if got := key("--Ünïcode  Détecteur..", "../../etc/passwd"); !strings.HasPrefix(got, "n-code-d-tecteur.etc-passwd.") {
		t.Errorf("sanitised key = %q", got)
	}
}

func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Sentinel-LLM Triage", "sentinel-llm-triage"},
		{"  spaced  out  ", "spaced-out"},
		{"../x/..", "x"},
		{"ÉÉÉ", "empty"},
		{"", "empty"},
		{"a__b..c--d", "a__b..c--d"},
		{"A\nB\tC", "a-b-c"},
	}
	for _, tt := range tests {
		if got := slug(tt.in, 40, "empty"); got != tt.want {
			t.Errorf("slug(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := slug(strings.Repeat("ab-", 50), 10, "x"); len(got) > 10 || strings.HasSuffix(got, "-") {
		t.Errorf("cut slug = %q", got)
	}
}

func FuzzKey(f *testing.F) {
	f.Add("Sentinel-LLM Triage", "sllm-2025-11-18-000417")
	f.Add("A B", "x")
	f.Add("", "")
	f.Add("\xff\xfe", "../..")
	f.Fuzz(func(t *testing.T, product, uid string) {
		k := makeKey(product, uid)
		if !keyPattern.MatchString(k) || len(k) > MaxKeyLen {
			t.Fatalf("makeKey(%q, %q) = %q", product, uid, k)
		}
		if k != makeKey(product, uid) {
			t.Fatal("not deterministic")
		}
	})
}

func TestAccessorsOnHandBuiltDetections(t *testing.T) {
	d := Detection{"severity_id": int64(4), "confidence_score": json.Number("77")}
	if d.SeverityID() != 4 || d.Severity() != "High" {
		t.Errorf("int64 severity: %d %q", d.SeverityID(), d.Severity())
	}
	if n, ok := d.Confidence(); n != 77 || !ok {
		t.Errorf("json.Number confidence: %d %v", n, ok)
	}
	d = Detection{"confidence_score": json.Number("1e2"), "severity_id": json.Number("4.5"), "severity": "\xffHigh"}
	if n, ok := d.Confidence(); n != 100 || !ok {
		t.Errorf("json.Number 1e2: %d %v, want 100 like Decode", n, ok)
	}
	if d.SeverityID() != 0 {
		t.Errorf("json.Number 4.5 read as integer %d", d.SeverityID())
	}
	if got := d.Severity(); got != "\uFFFDHigh" {
		t.Errorf("invalid UTF-8 not repaired: %q", got)
	}
}

func TestDecodeOptionsDefaults(t *testing.T) {
	got := DecodeOptions{MaxBytes: -1, MaxDepth: -1, MaxDetections: -1}.withDefaults()
	want := DecodeOptions{MaxBytes: DefaultMaxBytes, MaxDepth: DefaultMaxDepth, MaxDetections: DefaultMaxDetections}
	if got != want {
		t.Errorf("withDefaults = %+v, want %+v", got, want)
	}
}
