package intake

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/mdtext"
)

// Detection is one decoded OCSF Detection Finding. Keys are OCSF attribute
// names; values are string, bool, nil, int, float64, []any and
// map[string]any. Every field of the original document is kept, including
// fields the schema does not know.
//
// The accessors below never panic and tolerate missing or mistyped fields:
// they return a documented default instead.
type Detection map[string]any

// MaxAttrLen bounds, in bytes, the free-text values returned by
// [Detection.Product], [Detection.Severity], [Detection.DetectorModel] and
// [Detection.Title], which are meant for routing, search attributes and
// notifications. Longer values are cut at a UTF-8 boundary.
const MaxAttrLen = 256

// MaxKeyLen is the maximum length of [Detection.Key].
const MaxKeyLen = 120

// UnknownProduct is what [Detection.Product] and [Detection.DetectorModel]
// return when the detection does not name its producer.
const UnknownProduct = "unknown"

// UID returns finding_info.uid (for an OCSF 1.0 Security Finding,
// finding.uid), or "" when it is missing or not a string.
func (d Detection) UID() string {
	if s, ok := d.str("finding_info", "uid"); ok {
		return s
	}
	if d.IsSecurityFinding() {
		s, _ := d.str("finding", "uid")
		return s
	}
	return ""
}

// Product returns metadata.product.name, falling back to
// metadata.product.vendor_name, then to [UnknownProduct]. Surrounding
// whitespace is trimmed and the result is at most [MaxAttrLen] bytes.
func (d Detection) Product() string {
	return mdtext.Clip(d.product(), MaxAttrLen)
}

// product is Product without the length bound (Key hashes the full value).
func (d Detection) product() string {
	if s := d.text("metadata", "product", "name"); s != "" {
		return s
	}
	if s := d.text("metadata", "product", "vendor_name"); s != "" {
		return s
	}
	return UnknownProduct
}

// SeverityID returns severity_id, or 0 (Unknown) when it is missing or not
// an integer.
func (d Detection) SeverityID() int {
	n, _ := d.integer("severity_id")
	return n
}

// Severity returns the detection's own severity caption when it has a
// non-blank "severity" string, otherwise the OCSF caption of
// [Detection.SeverityID]: Unknown, Informational, Low, Medium, High,
// Critical, Fatal or Other ("Unknown" for ids outside the OCSF enum).
func (d Detection) Severity() string {
	if s := d.text("severity"); s != "" {
		return mdtext.Clip(s, MaxAttrLen)
	}
	if name, ok := finding.SeverityCaption(d.SeverityID()); ok {
		return name
	}
	name, _ := finding.SeverityCaption(0)
	return name
}

// DetectorModel names the detector (for AI detectors: the model) that
// produced the finding, for search attributes and routing.
//
// It is metadata.product.name, with "/" and metadata.product.version
// appended when present ("Sentinel-LLM Triage/2.7.1"): OCSF puts the
// producing product there, an AI detector names itself there, and the
// value has low cardinality. When the product has no name it falls back to
// finding_info.analytic.name (+ "/" + finding_info.analytic.version),
// which usually names a single rule or model rather than the product, and
// finally to [UnknownProduct]. The result is at most [MaxAttrLen] bytes.
func (d Detection) DetectorModel() string {
	if name := d.text("metadata", "product", "name"); name != "" {
		return mdtext.Clip(joinVersion(name, d.text("metadata", "product", "version")), MaxAttrLen)
	}
	if name := d.text("finding_info", "analytic", "name"); name != "" {
		return mdtext.Clip(joinVersion(name, d.text("finding_info", "analytic", "version")), MaxAttrLen)
	}
	return UnknownProduct
}

func joinVersion(name, version string) string {
	if version == "" {
		return name
	}
	return name + "/" + version
}

// Title returns finding_info.title, falling back to the top-level OCSF
// "message", then "". Whitespace is trimmed; at most [MaxAttrLen] bytes.
// The text is untrusted (often AI-written): display it, never interpret it.
func (d Detection) Title() string {
	if s := d.text("finding_info", "title"); s != "" {
		return mdtext.Clip(s, MaxAttrLen)
	}
	if s := d.text("finding", "title"); s != "" && d.IsSecurityFinding() {
		return mdtext.Clip(s, MaxAttrLen)
	}
	return mdtext.Clip(d.text("message"), MaxAttrLen)
}

// Confidence returns confidence_score and true when it is present and an
// integer (range is the validator's job), otherwise 0 and false.
func (d Detection) Confidence() (int, bool) {
	return d.integer("confidence_score")
}

// Key returns a deterministic identifier for the (Product, UID) pair,
// suitable inside a Temporal workflow id:
//
//	<product slug>.<uid slug>.<hash>
//
// Slugs are lowercase with every run of characters outside [a-z0-9._-]
// replaced by '-'; the hash is 16 base32 characters (80 bits) of SHA-256
// over the unmodified pair, so pairs that sanitise to the same slugs still
// get different keys. The key only contains [a-z0-9._-] and is at most
// [MaxKeyLen] bytes.
//
// When finding_info.uid is only its analytic's uid (the rule's: Tenzir's
// Suricata mapping writes the signature id there, so every alert of a rule
// on any host carries it), it names no finding, and the source event's id
// ([Detection.RuleOnlyUID]) is hashed after it: the same record sent again
// keeps its key, another alert of the rule gets another.
func (d Detection) Key() string {
	uid := d.UID()
	if _, event := d.RuleOnlyUID(); event != "" {
		uid += "\x00" + event
	}
	return makeKey(d.keyProduct(), uid)
}

// keyProduct is the producer part of the key: metadata.product.name; a
// product without a name (OCSF only recommends it) is told apart by its
// vendor_name (else [UnknownProduct]) and its uid, so two such producers
// sending the same finding uid do not share runs. Without a uid the value
// is the one keys had before uid counted (running runs are found by it).
func (d Detection) keyProduct() string {
	if s := d.text("metadata", "product", "name"); s != "" {
		return s
	}
	p := d.product()
	if uid := d.text("metadata", "product", "uid"); uid != "" {
		p += "\x00uid:" + uid
	}
	return p
}

// RuleOnlyUID reports whether the finding's uid is only its analytic's
// uid (finding_info.analytic.uid; OCSF 1.0 Security Finding: analytic.uid),
// and then the source event's id that tells its findings apart:
// metadata.original_event_uid, else metadata.uid ("" when the record has
// neither: its findings share one key).
func (d Detection) RuleOnlyUID() (ruleOnly bool, event string) {
	uid := d.UID()
	rule, _ := d.str("finding_info", "analytic", "uid")
	if rule == "" && d.IsSecurityFinding() {
		rule, _ = d.str("analytic", "uid")
	}
	if uid == "" || uid != rule {
		return false, ""
	}
	if s := d.text("metadata", "original_event_uid"); s != "" {
		return true, s
	}
	return true, d.text("metadata", "uid")
}

const (
	keyHashLen       = 16
	keyMaxProductLen = 40
)

var keyHashEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func makeKey(product, uid string) string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(product)))
	h.Write(n[:]) // length prefix: ("ab","c") and ("a","bc") hash differently
	h.Write([]byte(product))
	h.Write([]byte(uid))
	sum := h.Sum(nil)
	hash := strings.ToLower(keyHashEncoding.EncodeToString(sum[:10]))[:keyHashLen]

	ps := slug(product, keyMaxProductLen, "unknown")
	us := slug(uid, MaxKeyLen-keyHashLen-2-len(ps), "none")
	return ps + "." + us + "." + hash
}

// slug lowercases s, maps runs of characters outside [a-z0-9._-] to one
// '-', trims '-' and '.' from both ends and cuts the result to max bytes.
// It returns empty when nothing usable is left.
func slug(s string, maxLen int, empty string) string {
	var b strings.Builder
	b.Grow(min(len(s), maxLen))
	dash := false
	for _, r := range strings.ToLower(s) {
		if b.Len() >= maxLen {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
			dash = r == '-'
		default:
			if !dash {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	out := strings.Trim(b.String(), "-.")
	if out == "" {
		return empty
	}
	return out
}

// lookup walks nested objects.
func (d Detection) lookup(keys ...string) (any, bool) {
	var cur any = map[string]any(d)
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// str returns the string at keys, untouched.
func (d Detection) str(keys ...string) (string, bool) {
	v, _ := d.lookup(keys...)
	s, ok := v.(string)
	return s, ok
}

// text returns the trimmed string at keys, "" if absent or not a string.
func (d Detection) text(keys ...string) string {
	s, _ := d.str(keys...)
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// integer returns the integral number at keys.
func (d Detection) integer(keys ...string) (int, bool) {
	v, _ := d.lookup(keys...)
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		if n >= math.MinInt && n <= math.MaxInt {
			return int(n), true
		}
	case float64:
		if n == math.Trunc(n) && math.Abs(n) <= maxExactInt {
			return int(n), true
		}
	case json.Number: // detections built by hand with UseNumber
		if v, ok := numberValue(n); ok {
			if i, isInt := v.(int); isInt {
				return i, true
			}
		}
	}
	return 0, false
}
