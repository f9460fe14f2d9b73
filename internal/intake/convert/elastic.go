package convert

import (
	"cmp"
	"net/netip"
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
//	kibana.alert.rule.name, rule_id, kibana.alert.rule.type
//	                                     → finding_info.analytic {name, uid, type}
//	threat[], kibana.alert.rule.threat[] (7.x: signal.rule.threat[])
//	  .technique[].id, .subtechnique[].id → attacks[] (union, deduplicated)
//	kibana.alert.severity low 2, medium 3, high 4, critical 5 → severity_id
//	kibana.alert.workflow_status open 1, acknowledged 2, closed 4 → status_id
//	@timestamp (else kibana.alert.original_time) → time
//	host.hostname (else host.name), first routable host.ip, host.id
//	                                     → device {hostname, ip, uid}
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
	analytic := map[string]any{"type": "Rule", "type_id": 1}
	put(analytic, "name", gets(m, "kibana.alert.rule.name"))
	put(analytic, "uid", cmp.Or(gets(m, "kibana.alert.rule.rule_id"), gets(m, "kibana.alert.rule.uuid")))
	fi["analytic"] = analytic
	// The rule's ATT&CK mapping is in kibana.alert.rule.threat
	// (signal.rule.threat before 8.0); top-level threat only when the
	// source event had one (Elastic Defend). attacks() deduplicates.
	var ids []string
	for _, path := range []string{"threat", "kibana.alert.rule.threat", "signal.rule.threat"} {
		for _, t := range asList(get(m, path)) {
			for _, tech := range asList(get(asMap(t), "technique")) {
				tm := asMap(tech)
				ids = append(ids, gets(tm, "id"))
				for _, sub := range asList(tm["subtechnique"]) {
					ids = append(ids, gets(asMap(sub), "id"))
				}
			}
		}
	}
	put(out, "attacks", attacks(nil, ids...))
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

// routable picks the first address of a host.ip list that is neither
// loopback nor link-local.
func routable(v any) string {
	list := strList(v)
	if s, ok := v.(string); ok {
		list = []string{s}
	}
	for _, s := range list {
		a, err := netip.ParseAddr(s)
		if err == nil && !a.IsLoopback() && !a.IsLinkLocalUnicast() && !a.IsUnspecified() {
			return s
		}
	}
	return ""
}

func isElastic(m map[string]any) bool {
	return gets(m, "kibana.alert.uuid") != "" && gets(m, "kibana.alert.rule.name") != ""
}
