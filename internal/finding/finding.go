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
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config holds the site's settings for the view (riposte.yaml `detections:`).
type Config struct {
	// ConfidenceIDs maps OCSF confidence_id to a 0–100 confidence.
	// Ids not in the map (0 Unknown, 99 Other) give nil.
	ConfidenceIDs map[int]int
	// InternalNetworks split finding.ips into internal and external.
	InternalNetworks []netip.Prefix
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

// Entity list names, in the order the intake answer counts them.
var EntityKinds = []string{"hosts", "users", "ips", "hashes", "domains", "urls", "cloud_resources"}

// MaxEntities bounds each entity list; a hostile detection cannot blow up
// the view that every run carries.
const MaxEntities = 64

// maxDepth bounds the walk into unmapped.
const maxDepth = 8

var severityNames = map[int]string{0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 6: "Fatal", 99: "Other"}

// statusNames are the OCSF finding status_id captions (2004; 2001 state_id
// uses the same first four).
var statusNames = map[int]string{0: "Unknown", 1: "New", 2: "In Progress", 3: "Suppressed", 4: "Resolved", 5: "Archived", 6: "Deleted", 99: "Other"}

// activityNames are the OCSF finding activity_id captions.
var activityNames = map[int]string{0: "Unknown", 1: "Create", 2: "Update", 3: "Close", 99: "Other"}

var confidenceLabels = map[string]int{"low": 1, "medium": 2, "high": 3}

// Build computes the view of one detection (a decoded JSON object).
func Build(det map[string]any, cfg Config) map[string]any {
	if cfg.ConfidenceIDs == nil && cfg.InternalNetworks == nil {
		cfg = DefaultConfig()
	}
	b := &builder{cfg: cfg, seen: map[string]map[string]bool{}, lists: map[string][]any{}}
	fi := findingInfo(det)

	v := map[string]any{}
	v["confidence"] = confidence(det, cfg)
	v["time"] = timeMS(det)
	v["severity"] = severity(det)
	v["severity_id"] = intOr(det["severity_id"], 0)
	v["status"] = caption(det, statusNames, "status_id", "state_id", "status", "state")
	v["activity"] = caption(det, activityNames, "activity_id", "", "activity_name", "")
	v["attack"] = attackIDs(det, fi)
	v["title"] = firstText(str(fi, "title"), str(det, "message"))
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
	if um, ok := det["unmapped"].(map[string]any); ok {
		b.unmapped(um, "unmapped", 0)
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
	return v
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
func Primary(view map[string]any, kind string) string {
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
	if len(l) == 0 {
		return ""
	}
	s, _ := obj(l[0])["value"].(string)
	return s
}

// builder accumulates deduplicated entity lists.
type builder struct {
	cfg   Config
	seen  map[string]map[string]bool
	lists map[string][]any
}

func (b *builder) add(kind, value, source string, extra map[string]any) {
	value = strings.TrimSpace(value)
	if value == "" || len(value) > 2048 {
		return
	}
	key := value
	switch kind {
	case "hosts", "users", "domains":
		key = strings.ToLower(value)
	}
	if b.seen[kind] == nil {
		b.seen[kind] = map[string]bool{}
	}
	if b.seen[kind][key] || len(b.lists[kind]) >= MaxEntities {
		return
	}
	b.seen[kind][key] = true
	e := map[string]any{"value": value, "source": source}
	for k, x := range extra {
		e[k] = x
	}
	b.lists[kind] = append(b.lists[kind], e)
}

func (b *builder) addIP(s, source string) {
	addr, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return
	}
	addr = addr.Unmap()
	internal := false
	for _, p := range b.cfg.InternalNetworks {
		if p.Contains(addr) {
			internal = true
			break
		}
	}
	b.add("ips", addr.String(), source, map[string]any{"internal": internal})
}

func (b *builder) addHost(s, source string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	if _, err := netip.ParseAddr(s); err == nil {
		b.addIP(s, source)
		return
	}
	b.add("hosts", s, source, nil)
}

func (b *builder) addURL(s, source string) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return
	}
	b.add("urls", s, source, nil)
}

func (b *builder) addEmail(s, source string) {
	if strings.Count(s, "@") == 1 && !strings.ContainsAny(s, " \t/") {
		b.add("users", s, source, map[string]any{"email": s})
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// event reads the entity-bearing objects an OCSF event (or evidence, or
// related event) carries directly.
func (b *builder) event(m map[string]any, p string) {
	if m == nil {
		return
	}
	b.device(obj(m["device"]), join(p, "device"))
	if a := obj(m["actor"]); a != nil {
		b.user(obj(a["user"]), join(p, "actor.user"))
		b.process(obj(a["process"]), join(p, "actor.process"))
		if s := obj(a["session"]); s != nil {
			b.user(obj(s["user"]), join(p, "actor.session.user"))
		}
	}
	b.user(obj(m["user"]), join(p, "user"))
	b.process(obj(m["process"]), join(p, "process"))
	for _, k := range []string{"src_endpoint", "dst_endpoint"} {
		b.endpoint(obj(m[k]), join(p, k))
	}
	b.file(obj(m["file"]), join(p, "file"))
	if u := obj(m["url"]); u != nil {
		b.urlObj(u, join(p, "url"))
	}
	if q := obj(m["query"]); q != nil {
		if h := str(q, "hostname"); h != "" {
			b.add("domains", h, join(p, "query.hostname"), nil)
		}
	}
	if e := obj(m["email"]); e != nil {
		for _, k := range []string{"from", "to"} {
			if s := str(e, k); s != "" {
				b.addEmail(s, join(p, "email."+k))
			}
			for i, x := range list(e[k]) {
				if s, ok := x.(string); ok {
					b.addEmail(s, fmt.Sprintf("%s[%d]", join(p, "email."+k), i))
				}
			}
		}
	}
}

func (b *builder) device(d map[string]any, p string) {
	if d == nil {
		return
	}
	switch {
	case str(d, "hostname") != "":
		b.addHost(str(d, "hostname"), p+".hostname")
	case str(d, "name") != "":
		b.addHost(str(d, "name"), p+".name")
	}
	if ip := str(d, "ip"); ip != "" {
		b.addIP(ip, p+".ip")
	}
	if dom := str(d, "domain"); dom != "" && strings.Contains(dom, ".") {
		b.add("domains", dom, p+".domain", nil)
	}
}

func (b *builder) endpoint(e map[string]any, p string) {
	if e == nil {
		return
	}
	if h := str(e, "hostname"); h != "" {
		b.addHost(h, p+".hostname")
	} else if n := str(e, "name"); n != "" && !strings.Contains(n, " ") {
		b.addHost(n, p+".name")
	}
	if ip := str(e, "ip"); ip != "" {
		b.addIP(ip, p+".ip")
	}
	if d := str(e, "domain"); d != "" && strings.Contains(d, ".") {
		b.add("domains", d, p+".domain", nil)
	}
}

func (b *builder) user(u map[string]any, p string) {
	if u == nil {
		return
	}
	email, name, uid := str(u, "email_addr"), str(u, "name"), str(u, "uid")
	extra := map[string]any{}
	var value, src string
	switch {
	case email != "":
		value, src = email, p+".email_addr"
	case name != "":
		value, src = name, p+".name"
	case uid != "":
		value, src = uid, p+".uid"
	default:
		return
	}
	if email != "" {
		extra["email"] = email
	}
	if name != "" {
		extra["name"] = name
	}
	if uid != "" {
		extra["uid"] = uid
	}
	b.add("users", value, src, extra)
}

func (b *builder) process(pr map[string]any, p string) {
	if pr == nil {
		return
	}
	b.user(obj(pr["user"]), p+".user")
	b.file(obj(pr["file"]), p+".file")
	if pp := obj(pr["parent_process"]); pp != nil {
		b.file(obj(pp["file"]), p+".parent_process.file")
	}
}

func (b *builder) file(f map[string]any, p string) {
	if f == nil {
		return
	}
	for i, h := range list(f["hashes"]) {
		hm := obj(h)
		if v := str(hm, "value"); v != "" {
			b.add("hashes", strings.ToLower(v), fmt.Sprintf("%s.hashes[%d]", p, i), map[string]any{"algorithm": str(hm, "algorithm")})
		}
	}
}

func (b *builder) urlObj(u map[string]any, p string) {
	if s := str(u, "url_string"); s != "" {
		b.addURL(s, p+".url_string")
	}
	if h := str(u, "hostname"); h != "" {
		b.add("domains", h, p+".hostname", nil)
	}
}

// observable type_ids (OCSF observable.type_id).
const (
	obsHostname = 1
	obsIP       = 2
	obsUserName = 4
	obsEmail    = 5
	obsURL      = 6
	obsHash     = 8
	obsResource = 10
	obsUser     = 21
	obsURLObj   = 23
)

var observableTypeNames = map[string]int{
	"hostname": obsHostname, "ip address": obsIP, "user name": obsUserName, "email address": obsEmail,
	"url string": obsURL, "hash": obsHash, "resource uid": obsResource, "user": obsUser,
}

func (b *builder) observables(v any, p string) {
	for i, o := range list(v) {
		om := obj(o)
		val := str(om, "value")
		if val == "" {
			continue
		}
		src := fmt.Sprintf("%s[%d]", p, i)
		t := intOr(om["type_id"], 0)
		if t == 0 || t == 99 {
			if id, ok := observableTypeNames[strings.ToLower(str(om, "type"))]; ok {
				t = id
			} else if n := strings.ToLower(str(om, "name")); n == "hostname" || strings.HasSuffix(n, ".hostname") {
				t = obsHostname
			}
		}
		switch t {
		case obsHostname:
			b.addHost(val, src)
		case obsIP:
			b.addIP(val, src)
		case obsUserName, obsUser:
			if strings.Contains(val, "@") {
				b.addEmail(val, src)
			} else {
				b.add("users", val, src, map[string]any{"name": val})
			}
		case obsEmail:
			b.addEmail(val, src)
		case obsURL, obsURLObj:
			b.addURL(val, src)
		case obsHash:
			b.add("hashes", strings.ToLower(val), src, map[string]any{"algorithm": ""})
		case obsResource:
			b.add("cloud_resources", val, src, map[string]any{"type": "", "name": "", "region": ""})
		}
	}
}

func (b *builder) resources(v any, p string) {
	for i, r := range list(v) {
		rm := obj(r)
		if rm == nil {
			continue
		}
		src := fmt.Sprintf("%s[%d]", p, i)
		if uid := str(rm, "uid"); uid != "" {
			if _, err := netip.ParseAddr(uid); err == nil { // a resource named by its address is an IP
				b.addIP(uid, src+".uid")
				continue
			}
			b.add("cloud_resources", uid, src+".uid", map[string]any{"type": str(rm, "type"), "name": str(rm, "name"), "region": str(rm, "region")})
		}
		if h := str(rm, "hostname"); h != "" {
			b.addHost(h, src+".hostname")
		}
		if ip := str(rm, "ip"); ip != "" {
			b.addIP(ip, src+".ip")
		}
	}
}

// unmapped walks free-form producer fields, sorted by key, and takes the
// values of keys that name an entity.
func (b *builder) unmapped(m map[string]any, p string, depth int) {
	if depth > maxDepth {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kp := pathKey(p, k)
		switch x := m[k].(type) {
		case map[string]any:
			b.unmapped(x, kp, depth+1)
		case []any:
			for i, e := range x {
				ip := fmt.Sprintf("%s[%d]", kp, i)
				switch ev := e.(type) {
				case map[string]any:
					b.unmapped(ev, ip, depth+1)
				case string:
					b.unmappedValue(k, ev, ip)
				}
			}
		case string:
			b.unmappedValue(k, x, kp)
		}
	}
}

func (b *builder) unmappedValue(key, s, p string) {
	k := strings.ToLower(key)
	if i := strings.LastIndexAny(k, "./:"); i >= 0 {
		k = k[i+1:]
	}
	switch {
	case k == "hostname" || k == "host_name" || k == "host" || strings.HasSuffix(k, "_hostname") || strings.HasSuffix(k, "hostname"):
		b.addHost(s, p)
	case k == "ip" || k == "ipaddress" || k == "ip_address" || strings.HasSuffix(k, "_ip") || strings.HasSuffix(k, "ipaddress") || strings.HasSuffix(k, "ipv4") || strings.HasSuffix(k, "ipv6"):
		b.addIP(s, p)
	case k == "email" || k == "email_addr" || strings.HasSuffix(k, "email") || k == "upn" || strings.HasSuffix(k, "_upn") || k == "userprincipalname":
		b.addEmail(s, p)
	case k == "sha256" || k == "sha1" || k == "md5":
		b.add("hashes", strings.ToLower(s), p, map[string]any{"algorithm": strings.ToUpper(k)})
	case k == "url" || strings.HasSuffix(k, "_url"):
		b.addURL(s, p)
	case k == "domain" || k == "domain_name":
		if strings.Contains(s, ".") && !strings.ContainsAny(s, " /") {
			b.add("domains", s, p, nil)
		}
	}
}

// pathKey writes a key into a source path the way intake error paths do.
func pathKey(prefix, k string) string {
	plain := k != ""
	for _, r := range k {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	if plain {
		return prefix + "." + k
	}
	return prefix + "[" + strconv.Quote(k) + "]"
}

// confidence: confidence_score; else an OCSF 1.0 integer `confidence`;
// else confidence_id (or the `confidence` label) mapped; else nil.
func confidence(det map[string]any, cfg Config) any {
	if n, ok := num(det["confidence_score"]); ok && n >= 0 && n <= 100 {
		return int(math.Round(n))
	}
	if n, ok := num(det["confidence"]); ok && n >= 0 && n <= 100 {
		return int(math.Round(n))
	}
	id, ok := num(det["confidence_id"])
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
	if n, ok := num(v); ok {
		a := math.Abs(n)
		switch {
		case a < 1e11: // seconds until the year 5138
			return int64(n * 1000), true
		case a < 1e14: // milliseconds
			return int64(n), true
		case a < 1e17: // microseconds
			return int64(n / 1000), true
		default: // nanoseconds
			return int64(n / 1e6), true
		}
	}
	if s, ok := v.(string); ok {
		return ParseTimeDT(s)
	}
	return 0, false
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
	if id, ok := num(det["severity_id"]); ok {
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
		if id, ok := num(det[k]); ok {
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
// compliance result that needs no response.
func lifecycle(det map[string]any) (string, string) {
	code := strings.ToUpper(str(det, "status_code"))
	if code == "PASS" || code == "MANUAL" {
		return StateCompliancePass, "status_code is " + code + " (a compliance result, not a threat)"
	}
	if c := obj(det["compliance"]); c != nil {
		if s := strings.ToUpper(str(c, "status")); s == "PASS" || s == "PASSED" {
			return StateCompliancePass, "compliance.status is " + str(c, "status") + " (a compliance result, not a threat)"
		}
	}
	for _, k := range []string{"status_id", "state_id"} {
		if id, ok := num(det[k]); ok && (id == 3 || id == 4) {
			return StateWithdrawn, fmt.Sprintf("%s is %d (%s)", k, int(id), statusNames[int(id)])
		}
	}
	if id, ok := num(det["activity_id"]); ok && id == 3 {
		return StateWithdrawn, "activity_id is 3 (Close)"
	}
	for _, k := range []string{"status", "state"} {
		switch strings.ToLower(str(det, k)) {
		case "resolved", "suppressed", "closed", "false positive", "false_positive", "falsepositive", "benign":
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
	if id, ok := num(det["verdict_id"]); ok && id == 2 { // OCSF 1.1+: 2 False Positive
		return StateWithdrawn, "verdict_id is 2 (False Positive)"
	}
	return StateActive, ""
}

func isFalsePositive(s string) bool {
	switch strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", " ")) {
	case "false positive", "falsepositive", "benign":
		return true
	}
	return false
}

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

func firstText(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func num(v any) (float64, bool) {
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
	if n, ok := num(v); ok && n == math.Trunc(n) {
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
