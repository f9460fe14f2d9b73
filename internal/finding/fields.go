package finding

import (
	"cmp"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Confidence reads the confidence (0-100) of a view, as computed by
// [Build] or after its JSON round trip; ok is false when it is unknown.
func Confidence(view map[string]any) (int, bool) { return score(view["confidence"]) }

// AssetTags returns a detection's asset tags: device.labels and the names
// of device.groups[] (their uid when unnamed), of the detection's device
// and of each device its evidences[] name, and the tags of its resources[] (a cloud finding's
// asset): resources[].labels as given (Security Hub writes "key=value")
// and resources[].tags, OCSF key_value_pair objects, as "name=value" (the
// name alone when the value is empty).
func AssetTags(det map[string]any) []string {
	var out []string
	// The detection's device and the devices its evidences[] name (a
	// Microsoft Graph alert names its machine there only).
	devs := []any{det["device"]}
	for _, e := range list(det["evidences"]) {
		devs = append(devs, obj(e)["device"])
	}
	for _, d := range devs {
		dev := obj(d)
		out = appendLabels(out, dev["labels"])
		for _, g := range list(dev["groups"]) {
			// A group without a name (CrowdStrike's alerts give host group
			// ids only) by its uid.
			if n := cmp.Or(str(obj(g), "name"), str(obj(g), "uid")); n != "" {
				out = append(out, n)
			}
		}
	}
	for _, r := range list(det["resources"]) {
		res := obj(r)
		out = appendLabels(out, res["labels"])
		for _, kv := range list(res["tags"]) {
			m := obj(kv)
			name := str(m, "name")
			if name == "" {
				name = str(m, "key") // the provider's own spelling
			}
			if name == "" {
				continue
			}
			if v := str(m, "value"); v != "" {
				name += "=" + v
			}
			out = append(out, name)
		}
	}
	return out
}

// appendLabels appends the non-empty strings of a labels value (a list,
// or one string).
func appendLabels(out []string, v any) []string {
	labels := list(v)
	if l, ok := v.(string); ok {
		labels = []any{l}
	}
	for _, l := range labels {
		if s, ok := l.(string); ok && strings.TrimSpace(s) != "" {
			out = append(out, strings.TrimSpace(s))
		}
	}
	return out
}

// score reads a 0-100 confidence as intake validates confidence_score: an
// integer in range. A value intake refuses (150, 91.5) is no confidence:
// neither truncated (91) nor rounded (92).
func score(v any) (int, bool) {
	n, ok := Number(v)
	if !ok || n != math.Trunc(n) || n < 0 || n > 100 {
		return 0, false
	}
	return int(n), true
}

// confidence: confidence_score; else an OCSF 1.0 integer `confidence`;
// else confidence_id (or the `confidence` label) mapped; else nil. A score
// that is not an integer in 0-100 is skipped (see [score]).
func confidence(det map[string]any, cfg Config) any {
	if n, ok := score(det["confidence_score"]); ok {
		return n
	}
	if n, ok := score(det["confidence"]); ok {
		return n
	}
	id, ok := Number(det["confidence_id"])
	if !ok {
		if l, isStr := det["confidence"].(string); isStr {
			if lid, known := confidenceLabels[strings.ToLower(strings.TrimSpace(l))]; known {
				id, ok = float64(lid), true
			}
		}
	}
	if ok {
		if c, mapped := cfg.ConfidenceIDs[int(id)]; mapped {
			return c
		}
	}
	return nil
}

// TimeMS reads an OCSF time: epoch seconds, milliseconds or microseconds
// (told apart by magnitude), or an RFC 3339 string. ok is false when v is
// neither.
func TimeMS(v any) (int64, bool) {
	if n, ok := Number(v); ok {
		switch TimeUnit(n) {
		case "seconds":
			return int64(n * 1000), true
		case "milliseconds":
			return int64(n), true
		case "microseconds":
			return int64(n / 1000), true
		default:
			return int64(n / 1e6), true
		}
	}
	if s, ok := v.(string); ok {
		return ParseTimeDT(s)
	}
	return 0, false
}

// TimeUnit is the unit TimeMS reads an epoch number in, by its magnitude.
func TimeUnit(n float64) string {
	switch a := math.Abs(n); {
	case a < 1e11: // seconds until the year 5138
		return "seconds"
	case a < 1e14:
		return "milliseconds"
	case a < 1e17:
		return "microseconds"
	default:
		return "nanoseconds"
	}
}

// ParseTimeDT parses an OCSF datetime: RFC 3339, or without a zone (UTC,
// as Prowler writes it).
func ParseTimeDT(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), true
		}
	}
	return 0, false
}

// RecordTime is when, by the record's own word, its producer last changed
// the finding: finding_info.modified_time (or modified_time_dt; OCSF 1.0
// finding.*), else the record's time (or time_dt), in ms since the epoch.
// A reopened finding's record is later than the record that closed it; a
// Create delivered after its Close is not.
func RecordTime(det map[string]any) (int64, bool) {
	fi := findingInfo(det)
	for _, v := range []any{fi["modified_time"], fi["modified_time_dt"], det["time"], det["time_dt"]} {
		if v == nil {
			continue
		}
		if ms, ok := TimeMS(v); ok {
			return ms, true
		}
	}
	return 0, false
}

func timeMS(det map[string]any) any {
	if ms, ok := TimeMS(det["time"]); ok {
		return ms
	}
	if s, ok := det["time_dt"].(string); ok {
		if ms, ok := ParseTimeDT(s); ok {
			return ms
		}
	}
	return nil
}

func severity(det map[string]any) string {
	if id, ok := Number(det["severity_id"]); ok {
		if n, known := severityNames[int(id)]; known && int(id) != 99 {
			return n
		}
	}
	if s := str(det, "severity"); s != "" {
		return strings.TrimSpace(s)
	}
	return "Unknown"
}

func caption(det map[string]any, names map[int]string, idKey, altIDKey, nameKey, altNameKey string) string {
	for _, k := range []string{idKey, altIDKey} {
		if k == "" {
			continue
		}
		if id, ok := Number(det[k]); ok {
			if n, known := names[int(id)]; known && int(id) != 99 && int(id) != 0 {
				return n
			}
		}
	}
	for _, k := range []string{nameKey, altNameKey} {
		if k != "" && str(det, k) != "" {
			return strings.TrimSpace(str(det, k))
		}
	}
	return "Unknown"
}

// lifecycle says whether the record withdraws the finding or is a
// compliance result that needs no response. A record that says the finding
// is resolved, closed or a false positive withdraws it even when it also
// carries a passing compliance result (Security Hub's 2001 records of a
// fixed control carry both).
func lifecycle(det map[string]any) (string, string) {
	// 3 Suppressed, 4 Resolved; 5 Archived and 6 Deleted ("created in
	// error", OCSF 1.1+ Detection Finding) end the finding too. OCSF 1.0's
	// 2001 status_id is the event's status (1 Success, 2 Failure): no 3-6.
	for _, k := range []string{"status_id", "state_id"} {
		if id, ok := Number(det[k]); ok && id >= 3 && id <= 6 {
			return StateWithdrawn, fmt.Sprintf("%s is %d (%s)", k, int(id), statusNames[int(id)])
		}
	}
	if id, ok := Number(det["activity_id"]); ok && id == 3 {
		return StateWithdrawn, "activity_id is 3 (Close)"
	}
	for _, k := range []string{"status", "state"} {
		switch strings.ToLower(str(det, k)) {
		case "resolved", "suppressed", "closed", "false positive", "false_positive", "falsepositive", "benign", "archived", "deleted":
			return StateWithdrawn, k + " is " + str(det, k)
		}
	}
	if fi := findingInfo(det); fi != nil {
		if v, ok := fi["verdict"].(string); ok && isFalsePositive(v) {
			return StateWithdrawn, "finding_info.verdict is " + v
		}
	}
	if v, ok := det["verdict"].(string); ok && isFalsePositive(v) {
		return StateWithdrawn, "verdict is " + v
	}
	// OCSF verdict_id (1.1 to 1.7): 1 False Positive, 2 True Positive,
	// 5 Benign.
	if id, ok := Number(det["verdict_id"]); ok && (id == 1 || id == 5) {
		return StateWithdrawn, fmt.Sprintf("verdict_id is %d (%s)", int(id), map[int]string{1: "False Positive", 5: "Benign"}[int(id)])
	}
	if why := compliancePass(det); why != "" {
		return StateCompliancePass, why
	}
	return StateActive, ""
}

// compliancePass says why the record carries a passing compliance result
// ("" when it does not).
func compliancePass(det map[string]any) string {
	code := strings.ToUpper(str(det, "status_code"))
	if code == "PASS" || code == "MANUAL" {
		return "status_code is " + code + " (a compliance result, not a threat)"
	}
	if c := obj(det["compliance"]); c != nil {
		if s := strings.ToUpper(str(c, "status")); s == "PASS" || s == "PASSED" {
			return "compliance.status is " + str(c, "status") + " (a compliance result, not a threat)"
		}
	}
	return ""
}

// PassingCompliance reports whether the record carries a passing
// compliance result (status_code PASS or MANUAL, compliance.status PASSED),
// whatever its lifecycle state: Security Hub's record of a control that
// passes is Resolved too, though no failure of it came before.
func PassingCompliance(det map[string]any) bool { return compliancePass(det) != "" }

func isFalsePositive(s string) bool {
	switch strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", " ")) {
	case "false positive", "falsepositive", "benign":
		return true
	}
	return false
}

// AttackIDs returns the MITRE ATT&CK technique and sub-technique ids of a
// detection (attacks[], also under finding_info), sorted and unique: the
// view's "attack".
func AttackIDs(det map[string]any) []any { return attackIDs(det, findingInfo(det)) }

func attackIDs(det, fi map[string]any) []any {
	seen := map[string]bool{}
	var ids []string
	collect := func(v any) {
		for _, a := range list(v) {
			am := obj(a)
			for _, k := range []string{"technique", "sub_technique"} {
				if uid := str(obj(am[k]), "uid"); uid != "" && !seen[uid] {
					seen[uid] = true
					ids = append(ids, uid)
				}
			}
		}
	}
	collect(det["attacks"])
	collect(fi["attacks"])
	sort.Strings(ids)
	out := make([]any, len(ids))
	for i, s := range ids {
		out[i] = s
	}
	return out
}

func producer(det map[string]any) map[string]any {
	p := obj(obj(det["metadata"])["product"])
	return map[string]any{"name": str(p, "name"), "vendor": str(p, "vendor_name"), "version": str(p, "version")}
}

// model names the detector's analytic or model when the finding says.
func model(fi map[string]any) any {
	a := obj(fi["analytic"])
	name := str(a, "name")
	if name == "" {
		return nil
	}
	if v := str(a, "version"); v != "" {
		return name + "/" + v
	}
	return name
}

// findingInfo is finding_info, or the OCSF 1.0 Security Finding's `finding`.
func findingInfo(det map[string]any) map[string]any {
	if fi := obj(det["finding_info"]); fi != nil {
		return fi
	}
	if fi := obj(det["finding"]); fi != nil {
		return fi
	}
	return map[string]any{}
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return strings.TrimSpace(s)
}

// Number reads a JSON number as decoders leave it (int, int64, float64,
// json.Number); ok is false for anything else, NaN and infinities.
func Number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, !math.IsNaN(n) && !math.IsInf(n, 0)
	case interface{ Float64() (float64, error) }: // json.Number
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func intOr(v any, def int) int {
	if n, ok := Number(v); ok && n == math.Trunc(n) {
		return int(n)
	}
	return def
}

func orEmpty(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}
