package convert

import (
	"cmp"
	"strings"
)

// Suricata converts a Suricata EVE JSON record of event_type "alert"
// (eve.json; docs: Suricata user guide, "Eve JSON Format") to OCSF 2004.
//
//	flow_id, alert.signature_id, tx_id (else pcap_cnt), timestamp
//	                                   → finding_info.uid "suricata:<flow>:<sid>:<tx>"
//	alert.signature                    → finding_info.title
//	alert.category                     → finding_info.types[]
//	alert.signature_id, rev, gid       → finding_info.analytic {uid "gid:sid", version, type Rule}
//	alert.severity 1 → High 4, 2 → Medium 3, 3 → Low 2, 4 → Informational 1
//	                                   → severity_id (1 is Suricata's highest priority)
//	timestamp                          → time
//	src_ip/src_port, dest_ip/dest_port → src_endpoint, dst_endpoint
//	alert.source / alert.target (rules with `target`) → the same, by role
//	http.hostname, http.url            → evidences[0].url {hostname, url_string}
//	alert.action allowed/blocked       → action, disposition
//	alert.metadata.mitre_technique_id  → attacks[] (ET rules carry it)
//	host (else in_iface)               → metadata.product.feature.name (the sensor)
//
// EVE alerts carry no confidence: confidence stays unknown.
func Suricata(m map[string]any) (map[string]any, *Error) {
	if gets(m, "event_type") != "alert" {
		return nil, &Error{Path: "event_type", Message: `must be "alert" for a Suricata EVE alert, got ` + quote(gets(m, "event_type"))}
	}
	a := asMap(m["alert"])
	if a == nil {
		return nil, &Error{Path: "alert", Message: "is required for a Suricata EVE alert"}
	}
	ts := gets(m, "timestamp")
	ms, ok := millis(ts)
	if !ok {
		return nil, &Error{Path: "timestamp", Message: "must be a date-time like 2017-04-07T22:24:37.251547+0100, got " + quote(ts)}
	}
	sid := gets(a, "signature_id")
	if sid == "" {
		return nil, &Error{Path: "alert.signature_id", Message: "is required for a Suricata EVE alert"}
	}
	tx := cmp.Or(gets(m, "tx_id"), gets(m, "pcap_cnt"), ts)
	uid := "suricata:" + cmp.Or(gets(m, "flow_id"), ts) + ":" + sid + ":" + tx
	sev := 0
	if n, ok := getn(a, "severity"); ok {
		sev = map[int]int{1: 4, 2: 3, 3: 2, 4: 1}[int(n)]
	}
	out := base(uid, cmp.Or(gets(a, "signature"), "Suricata alert "+sid), "Suricata", "OISF", "", sev, ms)
	fi := out["finding_info"].(map[string]any)
	if c := gets(a, "category"); c != "" {
		fi["types"] = []any{c}
	}
	analytic := map[string]any{"type": "Rule", "type_id": 1, "uid": cmp.Or(gets(a, "gid"), "1") + ":" + sid}
	put(analytic, "name", gets(a, "signature"))
	put(analytic, "version", gets(a, "rev"))
	fi["analytic"] = analytic
	put(out, "attacks", attacks(nil, strList(get(a, "metadata.mitre_technique_id"))...))

	src, dst := endpoint(m, "src_ip", "src_port"), endpoint(m, "dest_ip", "dest_port")
	if s := asMap(a["source"]); s != nil { // the rule's `target` keyword names roles
		src = endpoint(s, "ip", "port")
	}
	if t := asMap(a["target"]); t != nil {
		dst = endpoint(t, "ip", "port")
	}
	put(out, "src_endpoint", src)
	put(out, "dst_endpoint", dst)
	switch gets(a, "action") {
	case "allowed":
		out["action_id"], out["action"], out["disposition_id"], out["disposition"] = 1, "Allowed", 1, "Allowed"
	case "blocked":
		out["action_id"], out["action"], out["disposition_id"], out["disposition"] = 2, "Denied", 2, "Blocked"
	}
	if h := asMap(m["http"]); h != nil {
		u := map[string]any{}
		put(u, "hostname", gets(h, "hostname"))
		if host, path := gets(h, "hostname"), gets(h, "url"); host != "" && strings.HasPrefix(path, "/") {
			u["url_string"] = "http://" + host + path
		}
		if len(u) > 0 {
			out["evidences"] = []any{map[string]any{"url": u}}
		}
	}
	if s := cmp.Or(gets(m, "host"), gets(m, "in_iface")); s != "" {
		out["metadata"].(map[string]any)["product"].(map[string]any)["feature"] = map[string]any{"name": s}
	}
	return out, nil
}

func endpoint(m map[string]any, ipKey, portKey string) map[string]any {
	e := map[string]any{}
	put(e, "ip", gets(m, ipKey))
	if p, ok := getn(m, portKey); ok {
		e["port"] = int(p)
	}
	return e
}

func isSuricata(m map[string]any) bool {
	a := asMap(m["alert"])
	return gets(m, "event_type") == "alert" && a != nil && a["signature_id"] != nil && (gets(m, "src_ip") != "" || gets(m, "dest_ip") != "")
}
