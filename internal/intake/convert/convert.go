// Package convert turns vendor-native alerts into OCSF Detection Findings
// (class 2004) before they are validated: CrowdStrike Falcon alerts,
// Microsoft Graph security alerts (v2, Defender XDR), Elastic Security
// alerts and Suricata EVE `alert` records. Each converter is one file that
// documents the producer's field mapping.
//
// Every converted finding keeps the original record verbatim as a JSON
// string in `raw_data` (OCSF's place for it), so nothing is lost; the
// mapped fields are what playbooks and the finding view read. The original
// is not copied into `unmapped`, whose free-form keys the finding view
// searches for entities: a vendor's context fields (the domain controller
// an identity alert mentions, say) must not become containment targets.
package convert

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/finding"
)

// Formats accepted by POST /v1/detections?format= and riposte submit --format.
const (
	FormatOCSF        = "ocsf"
	FormatCrowdStrike = "crowdstrike"
	FormatGraph       = "graph"
	FormatElastic     = "elastic"
	FormatSuricata    = "suricata"
)

// Formats lists the vendor formats, sorted.
func Formats() []string {
	return []string{FormatCrowdStrike, FormatElastic, FormatGraph, FormatSuricata}
}

// OCSFVersion is the OCSF version converted findings claim.
const OCSFVersion = "1.3.0"

// Error is a record that does not fit the format it was given as.
type Error struct {
	Index   int
	Path    string
	Message string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("detection %d: %s", e.Index, e.Message)
	}
	return fmt.Sprintf("detection %d: %s: %s", e.Index, e.Path, e.Message)
}

type converter func(map[string]any) (map[string]any, *Error)

var converters = map[string]converter{
	FormatCrowdStrike: CrowdStrike,
	FormatGraph:       Graph,
	FormatElastic:     Elastic,
	FormatSuricata:    Suricata,
}

// Valid reports whether format is "", "ocsf" or a vendor format.
func Valid(format string) bool {
	_, ok := converters[format]
	return ok || format == "" || format == FormatOCSF
}

// Detect names the vendor format a record unmistakably is, or "" (OCSF, or
// unknown: the validator then says what is missing). A record with a
// class_uid is always OCSF.
func Detect(m map[string]any) string {
	if _, ok := m["class_uid"]; ok {
		return ""
	}
	switch {
	case isSuricata(m):
		return FormatSuricata
	case isGraph(m):
		return FormatGraph
	case isCrowdStrike(m):
		return FormatCrowdStrike
	case isElastic(m):
		return FormatElastic
	}
	return ""
}

// One converts record idx from format ("" = detect; "ocsf" = none). It
// returns the record to validate and the format applied ("" for none).
func One(idx int, m map[string]any, format string) (map[string]any, string, error) {
	if format == FormatOCSF {
		return m, "", nil
	}
	if format == "" {
		format = Detect(m)
		if format == "" {
			return m, "", nil
		}
	}
	conv, ok := converters[format]
	if !ok {
		return nil, "", &Error{Index: idx, Message: fmt.Sprintf("unknown format %q (known: ocsf, %s)", format, strings.Join(Formats(), ", "))}
	}
	out, err := conv(m)
	if err != nil {
		err.Index = idx
		return nil, format, err
	}
	raw, jerr := json.Marshal(m)
	if jerr != nil {
		return nil, format, &Error{Index: idx, Message: "cannot keep the original: " + jerr.Error()}
	}
	out["raw_data"] = string(raw)
	return out, format, nil
}

// --- helpers shared by the converters ---

// get reads a value by dotted path, accepting both nested objects and
// flattened dotted keys at any level ("kibana.alert.uuid" as one key or as
// kibana → alert → uuid), the two shapes alert documents come in.
func get(m map[string]any, path string) any {
	if m == nil {
		return nil
	}
	if v, ok := m[path]; ok {
		return v
	}
	parts := strings.Split(path, ".")
	for i := len(parts) - 1; i >= 1; i-- {
		head := strings.Join(parts[:i], ".")
		if sub, ok := m[head].(map[string]any); ok {
			if v := get(sub, strings.Join(parts[i:], ".")); v != nil {
				return v
			}
		}
	}
	return nil
}

func gets(m map[string]any, path string) string {
	switch v := get(m, path).(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		if v == math.Trunc(v) {
			return fmt.Sprintf("%d", int64(v))
		}
		return fmt.Sprint(v)
	case int:
		return fmt.Sprint(v)
	case int64:
		return fmt.Sprint(v)
	}
	return ""
}

func getn(m map[string]any, path string) (float64, bool) { return finding.Number(get(m, path)) }

// getpid reads a process id as OCSF's process.pid, an Integer (int, as
// intake.Decode gives integers). Vendors write it as text (CrowdStrike) or
// a number; anything that is not a whole number from 0 to 2^31-1 (OCSF
// integer_t) is left out, nil, rather than sent as text.
func getpid(m map[string]any, path string) any {
	n, err := strconv.ParseInt(gets(m, path), 10, 32)
	if err != nil || n < 0 {
		return nil
	}
	return int(n)
}

// millis parses the date-times vendors write (RFC 3339, with or without a
// colon in the zone offset, or without a zone: UTC).
func millis(s string) (int64, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.UnixMilli(), true
		}
	}
	return 0, false
}

// base builds the OCSF skeleton of a converted finding.
func base(uid, title, productName, vendor, version string, severityID int, timeMS int64) map[string]any {
	product := map[string]any{"name": productName, "vendor_name": vendor}
	if version != "" {
		product["version"] = version
	}
	return map[string]any{
		"class_uid":     2004,
		"class_name":    "Detection Finding",
		"category_uid":  2,
		"category_name": "Findings",
		"activity_id":   1,
		"activity_name": "Create",
		"type_uid":      200401,
		"severity_id":   severityID,
		"time":          timeMS,
		"metadata":      map[string]any{"version": OCSFVersion, "product": product},
		"finding_info":  map[string]any{"uid": uid, "title": title},
	}
}

// put sets k in m when v is not empty.
func put(m map[string]any, k string, v any) {
	switch x := v.(type) {
	case nil:
		return
	case string:
		if x == "" {
			return
		}
	case map[string]any:
		if len(x) == 0 {
			return
		}
	case []any:
		if len(x) == 0 {
			return
		}
	}
	m[k] = v
}

func hashes(pairs ...string) []any {
	var out []any
	for i := 0; i+1 < len(pairs); i += 2 {
		algo, v := pairs[i], pairs[i+1]
		if v == "" || strings.Trim(v, "0") == "" { // CrowdStrike writes all-zero sha1 for "none"
			continue
		}
		id := map[string]int{"MD5": 1, "SHA-1": 2, "SHA-256": 3}[algo]
		out = append(out, map[string]any{"algorithm": algo, "algorithm_id": id, "value": v})
	}
	return out
}

// attacks builds OCSF attacks[] from technique ids (T1234 / T1234.001),
// ignoring vendor-specific ids.
func attacks(tactic map[string]any, ids ...string) []any {
	seen := map[string]bool{}
	var list []string
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if !isTechnique(id) || seen[id] {
			continue
		}
		seen[id] = true
		list = append(list, id)
	}
	sort.Strings(list)
	var out []any
	for _, id := range list {
		a := map[string]any{"technique": map[string]any{"uid": id}}
		if strings.Contains(id, ".") {
			a["technique"] = map[string]any{"uid": id[:strings.Index(id, ".")]}
			a["sub_technique"] = map[string]any{"uid": id}
		}
		if tactic != nil {
			a["tactic"] = tactic
		}
		out = append(out, a)
	}
	return out
}

func strList(v any) []string {
	var out []string
	for _, x := range asList(v) {
		if s, ok := x.(string); ok && strings.TrimSpace(s) != "" {
			out = append(out, strings.TrimSpace(s))
		}
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
