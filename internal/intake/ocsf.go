package intake

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/mdtext"
)

// OCSF classes the intake accepts.
const (
	ClassDetectionFinding = 2004
	// ClassSecurityFinding is OCSF 1.0's Security Finding (deprecated in
	// 1.1, still emitted by Security Lake v1, Falco and QRadar mappings):
	// `finding` instead of `finding_info`, state_id instead of status_id.
	ClassSecurityFinding = 2001
)

// IsSecurityFinding reports whether the detection is an OCSF 2001 record.
func (d Detection) IsSecurityFinding() bool {
	n, ok := d.integer("class_uid")
	return ok && n == ClassSecurityFinding
}

// mapSecurityFinding returns the 2004-shaped copy of a 2001 record that the
// schema checks: class_uid 2004 and finding_info taken from `finding`. The
// detection itself is never modified.
func mapSecurityFinding(m map[string]any) map[string]any {
	c := make(map[string]any, len(m)+1)
	for k, v := range m {
		c[k] = v
	}
	c["class_uid"] = ClassDetectionFinding
	if fi, ok := c["finding_info"]; !ok || fi == nil {
		if f, ok := m["finding"]; ok {
			c["finding_info"] = f
		}
	}
	return c
}

// checkTime requires `time` (any magnitude, see finding.TimeMS) or a
// parseable `time_dt`.
func checkTime(idx int, d Detection) []FieldError {
	if t, ok := d["time"]; ok && t != nil {
		return nil // the schema checks its type
	}
	raw, ok := d["time_dt"]
	if !ok || raw == nil { // null is absent (see dropOptionalNulls)
		return []FieldError{{Index: idx, Path: "time", Message: "is required (epoch milliseconds, or time_dt as an RFC 3339 date-time)"}}
	}
	s, _ := raw.(string)
	if _, ok := finding.ParseTimeDT(s); !ok {
		return []FieldError{{Index: idx, Path: "time_dt", Message: "must be an RFC 3339 date-time like 2024-08-13T15:58:20Z, got " + describeValue(raw)}}
	}
	return nil
}

// checkUnmappedText refuses an `unmapped` JSON text with a fault the
// record itself is refused for (a key given twice, a lone surrogate
// escape): the view walks the text for entities, and would read another
// value than the one sent (jsonTextFault).
func checkUnmappedText(idx int, d Detection) []FieldError {
	s, isText := d["unmapped"].(string)
	if !isText {
		return nil
	}
	de := jsonTextFault(s, []pathSeg{{key: "unmapped"}})
	if de == nil {
		return nil
	}
	where := fmt.Sprintf("byte %d of the text", de.Offset)
	if de.Path != "unmapped" {
		where += " (" + de.Path + ")"
	}
	return []FieldError{{Index: idx, Path: "unmapped", Message: fmt.Sprintf("a JSON text the intake refuses as it would the record itself, at %s: %s", where, de.Msg)}}
}

// Warnings lists what the intake read differently from the letter of OCSF
// 1.x for a valid detection: a 2001 record mapped, a time in seconds or
// microseconds, an OCSF version outside 1.0-1.8; then notes, what the
// detection's view left out (finding.BuildNoting; its note on an unmapped
// text it did not read stands where the intake's warnings name
// unmapped). They are returned in the answer; nothing is refused for
// them.
func Warnings(idx int, d Detection, notes []finding.Note) []FieldError {
	var out []FieldError
	if d.IsSecurityFinding() {
		out = append(out, FieldError{Index: idx, Path: "class_uid", Message: "OCSF 1.0 Security Finding: finding, state and confidence mapped from Security Finding 2001 to the Detection Finding (2004) view"})
	}
	if t, ok := d.lookup("time"); ok && t != nil {
		if n, isNum := t.(int); isNum {
			switch unit := finding.TimeUnit(float64(n)); {
			case n == 0:
				out = append(out, FieldError{Index: idx, Path: "time", Message: "0 is the epoch itself (1970-01-01T00:00:00Z): the producer did not set the time"})
			case unit != "milliseconds":
				out = append(out, FieldError{Index: idx, Path: "time", Message: fmt.Sprintf("%d read as epoch %s (OCSF wants milliseconds)", n, unit)})
			}
		}
	} else {
		out = append(out, FieldError{Index: idx, Path: "time", Message: "absent; time_dt used"})
	}
	if ruleOnly, event := d.RuleOnlyUID(); ruleOnly {
		msg := "is the analytic's uid (the rule's), not the finding's: every finding of the rule carries it; "
		if event != "" {
			msg += fmt.Sprintf("the finding is told apart by the source event's id %q (metadata.original_event_uid, else metadata.uid)", mdtext.Clip(event, maxEcho))
		} else {
			msg += "with no metadata.original_event_uid or metadata.uid, every finding of the rule is deduplicated to the first one's run"
		}
		path := "finding_info.uid"
		if d.IsSecurityFinding() && d.text("finding_info", "uid") == "" {
			path = "finding.uid"
		}
		out = append(out, FieldError{Index: idx, Path: path, Message: msg})
	}
	// The view read (or did not read) an unmapped text: its note says so
	// here, where the intake's own check said it, without a second parse.
	var notRead finding.Note
	if s, isText := d["unmapped"].(string); isText && strings.TrimSpace(s) != "" {
		notRead = finding.UnmappedTextNotRead(s)
		if slices.Contains(notes, notRead) {
			out = append(out, FieldError{Index: idx, Path: notRead.Path, Message: notRead.Message})
		}
	}
	if w, ok := unnamedProduct(idx, d); ok {
		out = append(out, w)
	}
	out = append(out, inexactIntegers(idx, d)...)
	if v := d.text("metadata", "version"); v != "" && !knownOCSFVersion(v) {
		out = append(out, FieldError{Index: idx, Path: "metadata.version", Message: fmt.Sprintf("%q is not an OCSF version Riposte knows (1.0 to 1.8); read as OCSF 1.x", mdtext.Clip(v, maxEcho))})
	}
	for _, n := range notes {
		if n != notRead {
			out = append(out, FieldError{Index: idx, Path: n.Path, Message: n.Message})
		}
	}
	return out
}

// unnamedProduct warns about an empty metadata.product.name: OCSF only
// recommends it, but it names the producer in the dedup key, so the
// warning says what tells the producer apart instead (Detection.Key).
func unnamedProduct(idx int, d Detection) (FieldError, bool) {
	if d.text("metadata", "product", "name") != "" {
		return FieldError{}, false
	}
	vendor, uid := d.text("metadata", "product", "vendor_name"), d.text("metadata", "product", "uid")
	var by []string
	if vendor != "" {
		by = append(by, fmt.Sprintf("metadata.product.vendor_name %q", mdtext.Clip(vendor, maxEcho)))
	}
	if uid != "" {
		by = append(by, fmt.Sprintf("metadata.product.uid %q", mdtext.Clip(uid, maxEcho)))
	}
	msg := "is empty (OCSF recommends it; it names the producer in the dedup key): "
	if len(by) == 0 {
		msg += "with no vendor_name or uid either, findings of every such producer with the same finding uid are deduplicated to one run; name the product"
	} else {
		msg += "the producer is told apart by " + strings.Join(by, " and ")
	}
	return FieldError{Index: idx, Path: "metadata.product.name", Message: msg}, true
}

// knownOCSFVersion accepts 1.0.0-rc.2 through 1.8.x.
func knownOCSFVersion(v string) bool {
	parts := strings.SplitN(strings.SplitN(v, "-", 2)[0], ".", 3)
	if len(parts) < 2 || parts[0] != "1" {
		return false
	}
	minor, err := strconv.Atoi(parts[1])
	return err == nil && minor >= 0 && minor <= 8
}

// maxInexactWarnings bounds the inexact-integer warnings of one detection.
const maxInexactWarnings = 5

// inexactIntegers warns about each integer beyond ±2^53 in d (sorted
// keys, depth-first): the intake keeps it exactly, and so does the run's
// history, but a run decodes the detection's numbers as float64 (the
// SDK's JSON payload converter), so its conditions and templates read the
// nearest float64 — another id.
func inexactIntegers(idx int, d Detection) []FieldError {
	var out []FieldError
	more := 0
	var walk func(v any, path []pathSeg, depth int)
	walk = func(v any, path []pathSeg, depth int) {
		if depth > DefaultMaxDepth {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				walk(x[k], append(path, pathSeg{key: k}), depth+1)
			}
		case []any:
			for i, e := range x {
				walk(e, append(path, pathSeg{index: i, isIndex: true}), depth+1)
			}
		case int:
			// A time in nanoseconds is one: finding.time has it in ms.
			if (x > maxExactInt || x < -maxExactInt) && !(len(path) == 1 && path[0].key == "time") {
				if len(out) == maxInexactWarnings {
					more++
					return
				}
				out = append(out, FieldError{Index: idx, Path: formatSegs(slices.Clone(path)), Message: fmt.Sprintf(
					"%d is beyond ±2^53: kept exactly here and in the run's history, but the run reads it as a float64 (JSON numbers are float64 there): its templates write %s; send such ids as strings",
					x, strconv.FormatFloat(float64(x), 'f', -1, 64))})
			}
		}
	}
	walk(map[string]any(d), nil, 0)
	if more > 0 {
		out = append(out, FieldError{Index: idx, Message: fmt.Sprintf("%d more integers beyond ±2^53", more)})
	}
	return out
}
