package convert

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// Elastic converts an Elastic Security detection alert (a document of the
// .alerts-security.alerts-* index, as the Kibana alerts API and the
// elastic_security integration return it; keys flattened like
// "kibana.alert.uuid" or nested) to OCSF 2004.
//
//	kibana.alert.uuid                    → finding_info.uid
//	kibana.alert.rule.name (else message)→ finding_info.title
//	kibana.alert.reason                  → finding_info.desc
//	kibana.alert.url                     → finding_info.src_url
//	kibana.alert.workflow_status_updated_at, kibana.alert.updated_at (the later)
//	                                     → finding_info.modified_time
//	kibana.alert.rule.name, rule_id, kibana.alert.rule.type
//	                                     → finding_info.analytic {name, uid, type}
//	threat[], kibana.alert.rule.threat[] (7.x: signal.rule.threat[])
//	  .tactic, .technique[], .subtechnique[] {id, name}
//	                                     → attacks[] {tactic, technique,
//	                                       sub_technique} (union, deduplicated)
//	threat {tactic, technique{subtechnique}} {id[], name[]} (ECS, a
//	  source event's)                    → the same (see ecsThreat)
//	kibana.alert.severity low 2, medium 3, high 4, critical 5 → severity_id
//	kibana.alert.workflow_status open 1, acknowledged 2, closed 4 → status_id
//	@timestamp (else kibana.alert.original_time) → time
//	host.hostname (else host.name), first routable host.ip, host.id
//	                                     → device {hostname, ip, uid}; every routable host.ip,
//	                                       when there are several → device.network_interfaces[].ip
//	user.name, user.id, user.email       → actor.user {name, uid, email_addr}
//	process.pid, name, command_line, executable, hash.*
//	                                     → evidences[0].process
//	source.ip, destination.ip            → src_endpoint.ip, dst_endpoint.ip
//	url.full                             → evidences[0].url.url_string
//	kibana.version                       → metadata.product.version
//
// kibana.alert.risk_score is a risk, not a confidence: confidence stays
// unknown.
func Elastic(m map[string]any) (map[string]any, *Error) {
	uid := gets(m, "kibana.alert.uuid")
	if uid == "" {
		return nil, &Error{Path: "kibana.alert.uuid", Message: "is required for an Elastic Security alert"}
	}
	ts := cmp.Or(gets(m, "@timestamp"), gets(m, "kibana.alert.original_time"))
	ms, ok := millis(ts)
	if !ok {
		return nil, &Error{Path: "@timestamp", Message: "must be an RFC 3339 date-time, got " + quote(ts)}
	}
	sev := map[string]int{"low": 2, "medium": 3, "high": 4, "critical": 5}[strings.ToLower(gets(m, "kibana.alert.severity"))]
	out := base(uid, cmp.Or(gets(m, "kibana.alert.rule.name"), gets(m, "message")), "Elastic Security", "Elastic", gets(m, "kibana.version"), sev, ms)
	fi := out["finding_info"].(map[string]any)
	put(fi, "desc", gets(m, "kibana.alert.reason"))
	put(fi, "src_url", gets(m, "kibana.alert.url"))
	// When the alert last changed (its status set: closed, opened again):
	// what tells a reopening from the alert delivered after its closing.
	var mod int64
	for _, k := range []string{"kibana.alert.workflow_status_updated_at", "kibana.alert.updated_at"} {
		if ms, ok := millis(gets(m, k)); ok && ms > mod {
			mod = ms
		}
	}
	if mod > 0 {
		fi["modified_time"] = mod
	}
	analytic := map[string]any{"type": "Rule", "type_id": 1}
	put(analytic, "name", gets(m, "kibana.alert.rule.name"))
	put(analytic, "uid", cmp.Or(gets(m, "kibana.alert.rule.rule_id"), gets(m, "kibana.alert.rule.uuid")))
	fi["analytic"] = analytic
	put(out, "attacks", elasticAttacks(m))
	switch strings.ToLower(gets(m, "kibana.alert.workflow_status")) {
	case "open":
		out["status_id"], out["status"] = 1, "New"
	case "acknowledged":
		out["status_id"], out["status"] = 2, "In Progress"
	case "closed":
		out["status_id"], out["status"] = 4, "Resolved"
	}

	dev := map[string]any{}
	put(dev, "hostname", cmp.Or(gets(m, "host.hostname"), gets(m, "host.name")))
	put(dev, "uid", gets(m, "host.id"))
	put(dev, "ip", routable(get(m, "host.ip")))
	// host.ip lists every address of the machine, in no set order (ECS:
	// "Host ip addresses"): each routable one is an interface
	// (device.network_interfaces[].ip), which the guardrails judge
	// against protected networks, not the first alone.
	if ips := routables(get(m, "host.ip")); len(ips) > 1 {
		nics := make([]any, 0, len(ips))
		for _, ip := range ips {
			nics = append(nics, map[string]any{"ip": ip})
		}
		dev["network_interfaces"] = nics
	}
	if os := gets(m, "host.os.name"); os != "" {
		dev["os"] = map[string]any{"name": os}
	}
	put(out, "device", dev)
	user := map[string]any{}
	put(user, "name", gets(m, "user.name"))
	put(user, "uid", gets(m, "user.id"))
	put(user, "email_addr", gets(m, "user.email"))
	put(user, "domain", gets(m, "user.domain"))
	if len(user) > 0 {
		out["actor"] = map[string]any{"user": user}
	}
	if ip := gets(m, "source.ip"); ip != "" {
		out["src_endpoint"] = map[string]any{"ip": ip}
	}
	if ip := gets(m, "destination.ip"); ip != "" {
		out["dst_endpoint"] = map[string]any{"ip": ip}
	}
	ev := map[string]any{}
	proc := map[string]any{}
	put(proc, "pid", getpid(m, "process.pid"))
	put(proc, "name", gets(m, "process.name"))
	put(proc, "cmd_line", gets(m, "process.command_line"))
	file := map[string]any{}
	put(file, "path", gets(m, "process.executable"))
	put(file, "hashes", hashes("SHA-256", strings.ToLower(gets(m, "process.hash.sha256")), "SHA-1", strings.ToLower(gets(m, "process.hash.sha1")), "MD5", strings.ToLower(gets(m, "process.hash.md5"))))
	put(proc, "file", file)
	put(ev, "process", proc)
	if u := gets(m, "url.full"); u != "" {
		ev["url"] = map[string]any{"url_string": u}
	}
	if len(ev) > 0 {
		out["evidences"] = []any{ev}
	}
	return out, nil
}

// elasticAttacks maps the alert's MITRE ATT&CK threat entries to OCSF
// attacks[]: one entry per technique and per sub-technique, each with the
// tactic its threat entry names (a technique listed under two tactics gives
// two entries), and one tactic-only entry for a threat entry without
// techniques. The rule's mapping is in kibana.alert.rule.threat
// (signal.rule.threat before 8.0); top-level threat only when the source
// event had one (Elastic Defend). Entries of another framework are skipped.
func elasticAttacks(m map[string]any) []any {
	type key struct{ tech, sub, tactic string }
	byKey := map[key]map[string]any{}
	add := func(k key, a map[string]any) {
		if byKey[k] == nil {
			byKey[k] = a
		}
	}
	named := func(id, name string) map[string]any {
		o := map[string]any{"uid": id}
		put(o, "name", name)
		return o
	}
	for _, path := range []string{"threat", "kibana.alert.rule.threat", "signal.rule.threat"} {
		entries := asList(get(m, path))
		if path == "threat" && entries == nil {
			entries = ecsThreat(func(field string) any { return get(m, "threat."+field) })
		}
		for _, t := range entries {
			tm := asMap(t)
			if fw := gets(tm, "framework"); fw != "" && !strings.EqualFold(fw, "MITRE ATT&CK") {
				continue
			}
			var tactic map[string]any
			tacticID := strings.TrimSpace(gets(asMap(tm["tactic"]), "id"))
			tacticName := gets(asMap(tm["tactic"]), "name")
			switch {
			case strings.HasPrefix(tacticID, "TA"):
				tactic = named(tacticID, tacticName)
			case tacticName != "":
				// ECS events may name a tactic without its id.
				tactic, tacticID = map[string]any{"name": tacticName}, "name:"+tacticName
			default:
				tacticID = ""
			}
			techs := 0
			// addTech adds a technique or, for T1234.001, the sub-technique
			// under its technique (named when the parent's name is known).
			addTech := func(id, name, parentName string) {
				if !isTechnique(id) {
					return
				}
				techs++
				tech, sub, _ := strings.Cut(id, ".")
				a := map[string]any{}
				if sub == "" {
					a["technique"] = named(id, name)
				} else {
					a["technique"] = named(tech, parentName)
					a["sub_technique"] = named(id, name)
					sub = id
				}
				put(a, "tactic", tactic)
				add(key{tech, sub, tacticID}, a)
			}
			for _, t := range asList(tm["technique"]) {
				te := asMap(t)
				id, name := strings.TrimSpace(gets(te, "id")), gets(te, "name")
				addTech(id, name, "")
				for _, s := range asList(te["subtechnique"]) {
					sm := asMap(s)
					sid := strings.TrimSpace(gets(sm, "id"))
					parent := ""
					if strings.HasPrefix(sid, id+".") {
						parent = name
					}
					addTech(sid, gets(sm, "name"), parent)
				}
			}
			if techs == 0 && tactic != nil {
				add(key{"", "", tacticID}, map[string]any{"tactic": tactic})
			}
		}
	}
	keys := slices.SortedFunc(maps.Keys(byKey), func(a, b key) int {
		return cmp.Or(strings.Compare(a.tech, b.tech), strings.Compare(a.sub, b.sub), strings.Compare(a.tactic, b.tactic))
	})
	var out []any
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out
}

// ecsThreat reads a source event's ECS threat field set, an object of
// arrays (threat.tactic.id[], threat.technique.id[],
// threat.technique.subtechnique.id[], each with its name[] at the same
// index; Elastic's integrations write it so, e.g. for Microsoft 365
// Defender alerts), as the entries of a rule's threat[]. Which technique
// belongs to which tactic is not kept there: with one tactic every
// technique is under it; with several, each tactic is an entry of its own
// and the techniques one without a tactic.
func ecsThreat(get func(field string) any) []any {
	pairs := func(prefix string) []map[string]any {
		ids, names := strOrList(get(prefix+".id")), strOrList(get(prefix+".name"))
		var out []map[string]any
		for i := range max(len(ids), len(names)) {
			e := map[string]any{}
			if i < len(ids) {
				e["id"] = ids[i]
			}
			if i < len(names) {
				e["name"] = names[i]
			}
			out = append(out, e)
		}
		return out
	}
	var techs []any
	for _, t := range pairs("technique") {
		techs = append(techs, t)
	}
	if subs := pairs("technique.subtechnique"); len(subs) > 0 {
		// Each under its parent when listed, else under an unnamed one.
		orphans := map[string]any{}
		for _, sub := range subs {
			id, _ := sub["id"].(string)
			placed := false
			for _, t := range techs {
				tm := t.(map[string]any)
				if pid, _ := tm["id"].(string); pid != "" && strings.HasPrefix(id, pid+".") {
					l, _ := tm["subtechnique"].([]any)
					tm["subtechnique"] = append(l, sub)
					placed = true
					break
				}
			}
			if !placed {
				l, _ := orphans["subtechnique"].([]any)
				orphans["subtechnique"] = append(l, sub)
			}
		}
		if len(orphans) > 0 {
			techs = append(techs, orphans)
		}
	}
	tactics := pairs("tactic")
	if len(techs) == 0 && len(tactics) == 0 {
		return nil
	}
	fw := get("framework")
	entry := func(tactic map[string]any, techs []any) map[string]any {
		e := map[string]any{"framework": fw, "technique": techs}
		if tactic != nil {
			e["tactic"] = tactic
		}
		return e
	}
	switch len(tactics) {
	case 0:
		return []any{entry(nil, techs)}
	case 1:
		return []any{entry(tactics[0], techs)}
	}
	out := []any{entry(nil, techs)}
	for _, t := range tactics {
		out = append(out, entry(t, nil))
	}
	return out
}

// strOrList is a string list field that ECS allows as one string too.
func strOrList(v any) []string {
	if s, ok := v.(string); ok {
		if s = strings.TrimSpace(s); s != "" {
			return []string{s}
		}
		return nil
	}
	return strList(v)
}

// isTechnique reports whether id looks like a MITRE ATT&CK technique or
// sub-technique id (T1234, T1234.001).
func isTechnique(id string) bool {
	return len(id) >= 5 && id[0] == 'T' && id[1] >= '0' && id[1] <= '9'
}

// routable picks the first address of a host.ip list that is neither
// loopback nor link-local.
func routable(v any) string {
	if ips := routables(v); len(ips) > 0 {
		return ips[0]
	}
	return ""
}

// routables are the addresses of a host.ip list (or one string) that are
// neither loopback, link-local nor unspecified, each once, in order.
func routables(v any) []string {
	list := strList(v)
	if s, ok := v.(string); ok {
		list = []string{strings.TrimSpace(s)}
	}
	var out []string
	for _, s := range list {
		a, err := netip.ParseAddr(s)
		if err == nil && !a.IsLoopback() && !a.IsLinkLocalUnicast() && !a.IsUnspecified() && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func isElastic(m map[string]any) bool {
	return gets(m, "kibana.alert.uuid") != "" && gets(m, "kibana.alert.rule.name") != ""
}
