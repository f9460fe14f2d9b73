// Package finding computes the normalized view of a detection: what a
// playbook needs to decide and act (confidence, time, severity, lifecycle,
// and the entities involved with where each came from), read from wherever
// real producers put it in OCSF 1.0–1.8 Detection Findings (class 2004) and
// Security Findings (class 2001).
//
// The view is computed once at intake and handed to every expression as
// `finding`, next to the raw `detection`. It is plain data (maps, slices,
// strings, ints, bools, nil) so that it survives the JSON round trip into
// workflow code unchanged, and [Build] is deterministic: the same detection
// and [Config] always give the same view, entities in the same order (map
// keys are visited sorted). Nothing here reads the clock or the network.
//
// # Extraction order
//
// Entities are collected in this order, and deduplicated (case-insensitively
// for hosts, users, domains; exactly for the rest) keeping the first source:
//
//  1. device (hostname, name, ip, uid)
//  2. actor (user, process.user, session), user
//  3. endpoints: src_endpoint, dst_endpoint
//  4. observables[] by type_id / type
//  5. resources[] (cloud resources; hostname/ip when present)
//  6. evidences[]: device, actor, process, src/dst_endpoint, user, file,
//     url, query.hostname, resources
//  7. finding_info.related_events[] (and `finding.related_events` in 2001)
//  8. unmapped: keys that name an entity (hostname, ip, email, sha256, url…)
//
// Each entity is {"value": "...", "source": "observables[3]"} plus a few
// type-specific fields (ips: "internal"; hashes: "algorithm"; cloud
// resources: "type", "name", "region"; users: "email", "name", "uid").
package finding

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Config holds the site's settings for the view (riposte.yaml `detections:`).
type Config struct {
	// ConfidenceIDs maps OCSF confidence_id to a 0–100 confidence.
	// Ids not in the map (0 Unknown, 99 Other) give nil.
	ConfidenceIDs map[int]int
	// InternalNetworks split finding.ips into internal and external.
	InternalNetworks []netip.Prefix
	// UnmappedObjectOnly reads `unmapped` only when it is an object, as
	// views were built before an unmapped JSON text (Amazon Security Lake's
	// OCSF 1.1 tables) was read: for a workflow that rebuilds the view of
	// a run whose input carried none, so its history replays as recorded.
	UnmappedObjectOnly bool
}

// Default confidence for confidence_id 1 Low, 2 Medium, 3 High.
const (
	DefaultConfidenceLow    = 25
	DefaultConfidenceMedium = 50
	DefaultConfidenceHigh   = 85
)

// DefaultInternalNetworks are RFC 1918 and IPv6 ULA.
var DefaultInternalNetworks = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
}

// DefaultConfig is the view's configuration without riposte.yaml.
func DefaultConfig() Config {
	return Config{
		ConfidenceIDs:    map[int]int{1: DefaultConfidenceLow, 2: DefaultConfidenceMedium, 3: DefaultConfidenceHigh},
		InternalNetworks: append([]netip.Prefix(nil), DefaultInternalNetworks...),
	}
}

// States of a finding (finding.state), from status, activity and status_code.
const (
	// StateActive: a finding to respond to.
	StateActive = "active"
	// StateWithdrawn: closed, resolved, suppressed or a false positive.
	StateWithdrawn = "withdrawn"
	// StateCompliancePass: a compliance result PASS or MANUAL (no threat).
	StateCompliancePass = "compliance_pass"
)

// EntityKinds are the entity list names, in the order the intake answer
// counts them.
var EntityKinds = []string{"hosts", "users", "ips", "hashes", "domains", "urls", "cloud_resources"}

// MaxEntities bounds each entity list; a hostile detection cannot blow up
// the view that every run carries.
const MaxEntities = 64

// maxDepth bounds the walk into unmapped.
const maxDepth = 8

// severityNames are the OCSF severity_id captions.
var severityNames = map[int]string{0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 6: "Fatal", 99: "Other"}

// SeverityCaption returns the OCSF caption of a severity_id (0 Unknown,
// 1 Informational … 6 Fatal, 99 Other); ok is false outside the enum.
func SeverityCaption(id int) (caption string, ok bool) {
	caption, ok = severityNames[id]
	return caption, ok
}

// statusNames are the OCSF finding status_id captions (2004; 2001 state_id
// uses the same first four).
var statusNames = map[int]string{0: "Unknown", 1: "New", 2: "In Progress", 3: "Suppressed", 4: "Resolved", 5: "Archived", 6: "Deleted", 99: "Other"}

// activityNames are the OCSF finding activity_id captions.
var activityNames = map[int]string{0: "Unknown", 1: "Create", 2: "Update", 3: "Close", 99: "Other"}

var confidenceLabels = map[string]int{"low": 1, "medium": 2, "high": 3}

// Build computes the view of one detection (a decoded JSON object).
func Build(det map[string]any, cfg Config) map[string]any {
	v, _ := build(det, cfg)
	return v
}

// MaxValueLen bounds, in bytes, an entity value the view keeps.
const MaxValueLen = 2048

// Note says what the view left out of a detection: Path is the
// detection's field it concerns ("" for the detection itself).
type Note struct {
	Path    string
	Message string
}

// BuildNoting is Build, with what the view left out of the detection:
// entries of a list beyond MaxEntities, values longer than MaxValueLen,
// unmapped deeper than the walk reads, an unmapped text that encodes no
// object ([UnmappedTextNotRead]). The view is Build's.
func BuildNoting(det map[string]any, cfg Config) (map[string]any, []Note) {
	v, b := build(det, cfg)
	return v, b.notes()
}

func build(det map[string]any, cfg Config) (map[string]any, *builder) {
	if cfg.ConfidenceIDs == nil && cfg.InternalNetworks == nil {
		cfg = DefaultConfig()
	}
	b := &builder{cfg: cfg, seen: map[string]map[string]bool{}, lists: map[string][]any{}, over: map[string]map[string]bool{}, long: map[string][]longValue{}}
	fi := findingInfo(det)

	v := map[string]any{}
	v["confidence"] = confidence(det, cfg)
	v["time"] = timeMS(det)
	v["severity"] = severity(det)
	v["severity_id"] = severityLevel(det)
	if intOr(det["class_uid"], 0) == 2001 && det["state_id"] != nil {
		// OCSF 1.0 Security Finding: the finding's status is state_id;
		// status_id is the event's (Success, Failure).
		v["status"] = caption(det, statusNames, "state_id", "", "state", "")
	} else {
		v["status"] = caption(det, statusNames, "status_id", "state_id", "status", "state")
	}
	v["activity"] = caption(det, activityNames, "activity_id", "", "activity_name", "")
	v["attack"] = attackIDs(det, fi)
	v["title"] = cmp.Or(str(fi, "title"), str(det, "message"))
	v["uid"] = str(fi, "uid")
	v["producer"] = producer(det)
	v["model"] = model(fi)
	v["class_uid"] = intOr(det["class_uid"], 0)
	state, reason := lifecycle(det)
	v["state"] = state
	if reason != "" {
		v["state_reason"] = reason
	}

	b.event(det, "")
	b.observables(det["observables"], "observables")
	b.resources(det["resources"], "resources")
	for i, e := range list(det["evidences"]) {
		b.event(obj(e), fmt.Sprintf("evidences[%d]", i))
		if m := obj(e); m != nil {
			b.resources(m["resources"], fmt.Sprintf("evidences[%d].resources", i))
		}
	}
	fiPath := "finding_info"
	if _, ok := det["finding_info"].(map[string]any); !ok {
		fiPath = "finding"
	}
	for i, e := range list(fi["related_events"]) {
		p := fmt.Sprintf("%s.related_events[%d]", fiPath, i)
		b.event(obj(e), p)
		if m := obj(e); m != nil {
			b.observables(m["observables"], p+".observables")
		}
	}
	switch um := det["unmapped"].(type) {
	case map[string]any:
		b.unmapped(um, "unmapped", 0)
	case string:
		// Amazon Security Lake's OCSF 1.1 tables hold unmapped as a JSON
		// text: walked like the object it encodes.
		if !cfg.UnmappedObjectOnly {
			if m, ok := UnmappedText(um); ok {
				b.unmapped(m, "unmapped", 0)
			} else if strings.TrimSpace(um) != "" {
				b.notRead = um
			}
		}
	}

	for _, k := range []string{"hosts", "users", "hashes", "domains", "urls", "cloud_resources"} {
		v[k] = orEmpty(b.lists[k])
	}
	all := orEmpty(b.lists["ips"])
	var internal, external []any
	for _, e := range all {
		if e.(map[string]any)["internal"] == true {
			internal = append(internal, e)
		} else {
			external = append(external, e)
		}
	}
	v["ips"] = map[string]any{"all": all, "internal": orEmpty(internal), "external": orEmpty(external)}
	return v, b
}

// UnmappedText is the object an `unmapped` JSON text encodes (Amazon
// Security Lake's OCSF 1.1 tables hold unmapped as one), as the view walks
// it; ok is false when the text encodes no object (cut short, a list, not
// JSON), and the view does not read it.
func UnmappedText(s string) (map[string]any, bool) {
	var m map[string]any
	if json.Unmarshal([]byte(s), &m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

// Counts returns the number of entities of each kind in a view.
func Counts(view map[string]any) map[string]int {
	out := make(map[string]int, len(EntityKinds))
	for _, k := range EntityKinds {
		if k == "ips" {
			ips, _ := view["ips"].(map[string]any)
			out[k] = len(list(ips["all"]))
			continue
		}
		out[k] = len(list(view[k]))
	}
	return out
}

// Primary returns the first value of an entity list ("hosts", "users",
// "ips", "ips.internal", "ips.external", …), or "".
func Primary(view map[string]any, kind string) string { return PrimaryFrom(view, kind, "") }

// PrimaryFrom returns the first value of an entity list that was read from
// source (the detection's path, e.g. "src_endpoint.ip"), or "". An empty
// source matches any.
func PrimaryFrom(view map[string]any, kind, source string) string {
	var l []any
	switch kind {
	case "ips", "ips.all", "ips.internal", "ips.external":
		ips, _ := view["ips"].(map[string]any)
		sub := strings.TrimPrefix(strings.TrimPrefix(kind, "ips"), ".")
		if sub == "" {
			sub = "all"
		}
		l = list(ips[sub])
	default:
		l = list(view[kind])
	}
	for _, e := range l {
		if m := obj(e); source == "" || m["source"] == source {
			s, _ := m["value"].(string)
			return s
		}
	}
	return ""
}

// severityLevel is the OCSF severity_id as a level to compare (0 Unknown …
// 6 Fatal). 99 Other says the producer's level is not mapped (its words
// are in severity): it is no level at all, so 0, as the run ranks it, and
// a trigger's severity_id >= 4 does not read it as above Critical. The
// detection keeps its own severity_id.
func severityLevel(det map[string]any) int {
	if id := intOr(det["severity_id"], 0); id >= 0 && id <= 6 {
		return id
	}
	return 0
}

// AffectedHost returns the first host the finding is about — its device,
// the endpoint that acted (src_endpoint), an observable — and never one it
// names as a destination (dst_endpoint, or an unmapped key that says dst,
// destination or target): a credential-theft alert against a domain
// controller names the controller as its target, and containing it would
// contain the victim, not the source. "" when there is none.
//
// Build marks such a host "destination": true, reading every word of its
// source path, also inside a flattened key (unmapped["target.hostname"],
// unmapped["dst:host"]). The path test below is kept as it was for views
// built before the mark existed: runs replay the view they were started
// with, and their affected_host must not change.
func AffectedHost(view map[string]any) string {
	for _, e := range list(view["hosts"]) {
		m := obj(e)
		if src, _ := m["source"].(string); m["destination"] != true && !destinationSource(src) {
			s, _ := m["value"].(string)
			return s
		}
	}
	return ""
}

// destinationPath reports whether a source path names a destination: one
// of its words (object keys, and the parts of a quoted flattened key split
// at '.', ':' and '/') is dst_endpoint or starts with dst, destination or
// target.
func destinationPath(src string) bool {
	for _, w := range pathWords(src) {
		if isDestinationWord(w) {
			return true
		}
	}
	return false
}

func isDestinationWord(w string) bool {
	w = strings.ToLower(w)
	return strings.HasPrefix(w, "dst") || strings.HasPrefix(w, "destination") || strings.HasPrefix(w, "target")
}

// pathWords splits a source path (a.b[0]["c.d"]) into its words: a, b,
// c, d. Array indexes are skipped.
func pathWords(src string) []string {
	var out []string
	split := func(s string) {
		out = append(out, strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == ':' || r == '/' })...)
	}
	for src != "" {
		i := strings.IndexByte(src, '[')
		if i < 0 {
			split(src)
			break
		}
		split(src[:i])
		rest := src[i+1:]
		if strings.HasPrefix(rest, "\"") {
			if q, err := strconv.QuotedPrefix(rest); err == nil {
				if k, err := strconv.Unquote(q); err == nil {
					split(k)
				}
				rest = rest[len(q):]
			}
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			break
		}
		src = rest[j+1:]
	}
	return out
}

func destinationSource(src string) bool {
	for _, seg := range strings.Split(strings.ToLower(src), ".") {
		if i := strings.IndexByte(seg, '['); i >= 0 {
			seg = seg[:i]
		}
		if seg == "dst_endpoint" || strings.HasPrefix(seg, "dst") || strings.HasPrefix(seg, "destination") || strings.HasPrefix(seg, "target") {
			return true
		}
	}
	return false
}
