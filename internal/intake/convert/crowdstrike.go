package convert

import (
	"cmp"
	"slices"
	"strings"
)

// CrowdStrike converts a CrowdStrike Falcon alert (Alerts API v2,
// GET /alerts/entities/alerts/v2, and the event stream's detection
// summaries, below) to OCSF 2004.
//
//	composite_id (else id)             → finding_info.uid
//	display_name (else name)           → finding_info.title
//	description                        → finding_info.desc
//	falcon_host_link                   → finding_info.src_url
//	name, pattern_id                   → finding_info.analytic {name, uid, type Rule}
//	technique_id, tactic_id/tactic     → attacks[] (MITRE ids only; CST… ids stay in raw_data)
//	severity_name, else severity 1-100 → severity_id (Critical ≥90, High ≥70,
//	                                     Medium ≥50, Low ≥20, else Informational)
//	confidence (0-100)                 → confidence_score
//	timestamp (else created_timestamp) → time
//	created_timestamp, updated_timestamp → finding_info.created_time, modified_time
//	status new/reopened 1, in_progress 2, false_positive/ignored 3
//	       (Suppressed), closed 4 (Resolved) → status_id
//	product, source_products           → metadata.product.name "Falcon <product>"
//	device.hostname, local_ip, device_id, machine_domain, platform_name
//	                                   → device {hostname, ip, uid, domain, os.name}
//	device.tags (FalconGroupingTags/x)  → device.labels (as written, and x)
//	device.groups (host group ids)     → device.groups[] {uid}
//	device.product_type_desc Workstation → device type_id 2 (Desktop);
//	       Server, Domain Controller    → type_id 1 (Server)
//	user_name / user_id, logon_domain  → actor.user {name, uid, domain}
//	source_account_upn/_name           → actor.user (identity alerts)
//	source_endpoint_host_name/_ip_address → src_endpoint {hostname, ip}
//	target_endpoint_host_name          → dst_endpoint.hostname
//	filename, filepath, cmdline, sha256, md5, local_process_id
//	                                   → evidences[0].process {file, cmd_line, pid}
//	parent_details                     → evidences[0].process.parent_process
//
// A Falcon event stream record (metadata + event, CamelCase) is read as
// the alert it describes: see falconStream.
func CrowdStrike(m map[string]any) (map[string]any, *Error) {
	if a, err := falconStream(m); err != nil {
		return nil, err
	} else if a != nil {
		m = a
	}
	uid := cmp.Or(gets(m, "composite_id"), gets(m, "id"))
	if uid == "" {
		return nil, &Error{Path: "composite_id", Message: "is required for a CrowdStrike alert (or id)"}
	}
	ts := cmp.Or(gets(m, "timestamp"), gets(m, "created_timestamp"), gets(m, "context_timestamp"))
	ms, ok := millis(ts)
	if !ok {
		return nil, &Error{Path: "timestamp", Message: "must be an RFC 3339 date-time, got " + quote(ts)}
	}
	product := "Falcon"
	if p := gets(m, "product"); p != "" {
		product = "Falcon " + strings.ToUpper(p)
	}
	out := base(uid, cmp.Or(gets(m, "display_name"), gets(m, "name"), gets(m, "description")), product, "CrowdStrike", "", csSeverity(m), ms)
	fi := out["finding_info"].(map[string]any)
	put(fi, "desc", gets(m, "description"))
	put(fi, "src_url", gets(m, "falcon_host_link"))
	if created, ok := millis(gets(m, "created_timestamp")); ok {
		fi["created_time"] = created
	}
	// When the alert last changed (a status set, closed, reopened): what
	// tells a reopening from the Create delivered after its Close.
	if updated, ok := millis(gets(m, "updated_timestamp")); ok {
		fi["modified_time"] = updated
	}
	analytic := map[string]any{"type": "Rule", "type_id": 1}
	put(analytic, "name", gets(m, "name"))
	put(analytic, "uid", gets(m, "pattern_id"))
	fi["analytic"] = analytic
	var tactic map[string]any
	if id := gets(m, "tactic_id"); strings.HasPrefix(id, "TA") {
		tactic = map[string]any{"uid": id, "name": gets(m, "tactic")}
	}
	put(out, "attacks", attacks(tactic, gets(m, "technique_id")))
	if c, ok := getn(m, "confidence"); ok && c >= 0 && c <= 100 {
		out["confidence_score"] = int(c)
	}
	switch strings.ToLower(gets(m, "status")) {
	case "new", "reopened":
		out["status_id"], out["status"] = 1, "New"
	case "in_progress", "true_positive":
		out["status_id"], out["status"] = 2, "In Progress"
	case "false_positive", "ignored":
		out["status_id"], out["status"] = 3, "Suppressed"
	case "closed":
		out["status_id"], out["status"] = 4, "Resolved"
	}

	if d := asMap(m["device"]); d != nil {
		dev := map[string]any{}
		put(dev, "hostname", gets(d, "hostname"))
		put(dev, "ip", gets(d, "local_ip"))
		put(dev, "uid", gets(d, "device_id"))
		put(dev, "domain", gets(d, "machine_domain"))
		if os := gets(d, "platform_name"); os != "" {
			dev["os"] = map[string]any{"name": os}
		}
		// The machine's role: a server or domain controller is never
		// taken for a workstation by a playbook that contains
		// workstations without a human.
		switch gets(d, "product_type_desc") {
		case "Workstation":
			dev["type_id"], dev["type"] = 2, "Desktop"
		case "Server", "Domain Controller":
			dev["type_id"], dev["type"] = 1, "Server"
		}
		// The host's grouping tags and host groups, which the site's
		// guardrails protect by tag (finding.AssetTags): a tag as Falcon
		// writes it (FalconGroupingTags/crown-jewel) and by its name
		// alone; a host group by its id (the alert names no group).
		var labels []any
		for _, t := range strList(d["tags"]) {
			labels = append(labels, t)
			if _, name, ok := strings.Cut(t, "/"); ok && name != "" && !slices.Contains(labels, any(name)) {
				labels = append(labels, name)
			}
		}
		if len(labels) > 0 {
			dev["labels"] = labels
		}
		var groups []any
		for _, g := range strList(d["groups"]) {
			groups = append(groups, map[string]any{"uid": g})
		}
		if len(groups) > 0 {
			dev["groups"] = groups
		}
		put(out, "device", dev)
	}
	user := map[string]any{}
	put(user, "name", cmp.Or(gets(m, "user_name"), gets(m, "source_account_name")))
	put(user, "uid", cmp.Or(gets(m, "user_id"), gets(m, "source_account_object_sid")))
	put(user, "domain", cmp.Or(gets(m, "logon_domain"), gets(m, "source_account_domain")))
	if upn := gets(m, "source_account_upn"); strings.Contains(upn, "@") {
		user["email_addr"] = upn
	}
	if len(user) > 0 {
		out["actor"] = map[string]any{"user": user}
	}
	src := map[string]any{}
	put(src, "hostname", gets(m, "source_endpoint_host_name"))
	put(src, "ip", cmp.Or(gets(m, "source_endpoint_ip_address"), gets(m, "source_endpoint_address_ip4")))
	put(out, "src_endpoint", src)
	dst := map[string]any{}
	put(dst, "hostname", gets(m, "target_endpoint_host_name"))
	put(out, "dst_endpoint", dst)

	proc := map[string]any{}
	file := map[string]any{}
	put(file, "name", gets(m, "filename"))
	put(file, "path", gets(m, "filepath"))
	put(file, "hashes", hashes("SHA-256", gets(m, "sha256"), "MD5", gets(m, "md5"), "SHA-1", gets(m, "sha1")))
	put(proc, "file", file)
	put(proc, "cmd_line", gets(m, "cmdline"))
	put(proc, "pid", getpid(m, "local_process_id"))
	if p := asMap(m["parent_details"]); p != nil {
		pf := map[string]any{}
		put(pf, "name", gets(p, "filename"))
		put(pf, "path", gets(p, "filepath"))
		put(pf, "hashes", hashes("SHA-256", gets(p, "sha256"), "MD5", gets(p, "md5")))
		pp := map[string]any{}
		put(pp, "file", pf)
		put(pp, "cmd_line", gets(p, "cmdline"))
		put(proc, "parent_process", pp)
	}
	if len(proc) > 0 {
		out["evidences"] = []any{map[string]any{"process": proc}}
	}
	return out, nil
}

func csSeverity(m map[string]any) int {
	switch strings.ToLower(gets(m, "severity_name")) {
	case "critical":
		return 5
	case "high":
		return 4
	case "medium":
		return 3
	case "low":
		return 2
	case "informational":
		return 1
	}
	n, ok := getn(m, "severity")
	switch {
	case !ok:
		return 0
	case n >= 90:
		return 5
	case n >= 70:
		return 4
	case n >= 50:
		return 3
	case n >= 20:
		return 2
	default:
		return 1
	}
}

func isCrowdStrike(m map[string]any) bool {
	if isFalconStream(m) {
		return true
	}
	if gets(m, "composite_id") == "" || gets(m, "cid") == "" {
		return false
	}
	if gets(m, "falcon_host_link") != "" {
		return true
	}
	for _, v := range strList(m["source_vendors"]) {
		if v == "CrowdStrike" {
			return true
		}
	}
	return false
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + s + `"`
}
