package finding

import (
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/riposte-dev/riposte/internal/mdtext"
)

// builder accumulates deduplicated entity lists.
type builder struct {
	cfg   Config
	seen  map[string]map[string]bool
	lists map[string][]any
	// What the view leaves out, for BuildNoting: the distinct values of
	// each list beyond MaxEntities, the values longer than MaxValueLen,
	// and the first unmapped object below maxDepth.
	over map[string]map[string]bool
	long map[string][]longValue
	deep string
	// notRead is an `unmapped` text that encodes no JSON object.
	notRead string
}

// longValue is a value too long for the view.
type longValue struct {
	size   int
	source string
}

func (b *builder) add(kind, value, source string, extra map[string]any) {
	value = strings.TrimSpace(value)
	if value == "" {
		return
	}
	if len(value) > MaxValueLen {
		b.long[kind] = append(b.long[kind], longValue{len(value), source})
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
	if b.seen[kind][key] {
		return
	}
	if len(b.lists[kind]) >= MaxEntities {
		if b.over[kind] == nil {
			b.over[kind] = map[string]bool{}
		}
		b.over[kind][key] = true
		return
	}
	b.seen[kind][key] = true
	e := map[string]any{"value": value, "source": source}
	if kind == "hosts" && destinationPath(source) {
		e["destination"] = true // see AffectedHost
	}
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
		// The observable's name is the attribute it mirrors (OCSF
		// observable.name; Amazon Security Lake names every mirrored
		// hostname "evidences[].query.hostname", "dst_endpoint.hostname"…).
		// Observables are read before evidences and the first source is
		// kept, so the name says what the value is: a DNS query's name is
		// a domain, not a host, and a destination's host is the target.
		name := str(om, "name")
		switch t {
		case obsHostname:
			switch {
			case queryName(name):
				b.add("domains", val, src, nil)
			case destinationPath(name):
				if _, err := netip.ParseAddr(val); err == nil {
					b.addIP(val, src)
				} else {
					b.add("hosts", val, src, map[string]any{"destination": true}) // see AffectedHost
				}
			default:
				b.addHost(val, src)
			}
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

// queryName reports whether an observable's name is a DNS query's
// hostname (query.hostname, evidences[].query.hostname).
func queryName(name string) bool {
	w := pathWords(name)
	return len(w) >= 2 && strings.EqualFold(w[len(w)-2], "query") && strings.EqualFold(w[len(w)-1], "hostname")
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
		if b.deep == "" && len(m) > 0 {
			b.deep = p
		}
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
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

// notes says what the view left out (see BuildNoting), lists in the
// order of EntityKinds.
func (b *builder) notes() []Note {
	var out []Note
	for _, k := range EntityKinds {
		if n := len(b.over[k]); n > 0 {
			out = append(out, Note{Message: fmt.Sprintf("%s: %d entries, the view keeps the first %d (finding.%s; the detection keeps them all)",
				k, len(b.lists[k])+n, MaxEntities, k)})
		}
		if long := b.long[k]; len(long) > 0 {
			msg := fmt.Sprintf("%s: a value of %d bytes at %s is longer than the %d bytes the view keeps: left out of finding.%s (the detection keeps it)",
				k, long[0].size, long[0].source, MaxValueLen, k)
			if len(long) > 1 {
				msg += fmt.Sprintf("; %d more such values", len(long)-1)
			}
			out = append(out, Note{Message: msg})
		}
	}
	if b.deep != "" {
		out = append(out, Note{Path: "unmapped", Message: fmt.Sprintf("read for entities to depth %d: %s and what it holds were not read", maxDepth, b.deep)})
	}
	if b.notRead != "" {
		out = append(out, UnmappedTextNotRead(b.notRead))
	}
	return out
}

// maxEcho bounds how much of the (untrusted) text a note quotes back, as
// the intake's messages do.
const maxEcho = 40

// UnmappedTextNotRead is BuildNoting's note on an `unmapped` text that
// encodes no JSON object (cut short, a list, not JSON): the view does not
// read it. The intake answers it among its warnings (intake.Warnings).
func UnmappedTextNotRead(s string) Note {
	q := strconv.Quote(s)
	if len(s) > maxEcho {
		q = strconv.Quote(mdtext.Clip(s, maxEcho)) + "…"
	}
	return Note{Path: "unmapped", Message: fmt.Sprintf("a text that is no JSON object (%s): not read for entities (unmapped is read as an object, or a JSON text of one)", q)}
}
