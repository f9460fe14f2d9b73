package convert

import (
	"cmp"
	"strings"
)

// Graph converts a Microsoft Graph security alert (v2: GET
// /security/alerts_v2/{id}, the Defender XDR alert) to OCSF 2004.
//
//	id                              → finding_info.uid
//	title, description              → finding_info.title, desc
//	alertWebUrl                     → finding_info.src_url
//	createdDateTime (time), lastUpdateDateTime → time, finding_info.modified_time
//	category                        → finding_info.types[]
//	detectionSource, detectorId     → finding_info.analytic {name, uid}
//	mitreTechniques[]               → attacks[]
//	severity informational 1, low 2, medium 3, high 4 (unknown 0) → severity_id
//	status new 1, inProgress 2, resolved 4                       → status_id
//	classification falsePositive / informationalExpectedActivity → status_id 3
//	    (Suppressed) and finding_info.verdict (the finding is withdrawn)
//	serviceSource                   → metadata.product.name ("Microsoft Defender …")
//	evidence[] by @odata.type       → evidences[]:
//	    deviceEvidence  → {device: {hostname: deviceDnsName, uid: mdeDeviceId, ip: ipInterfaces[0],
//	                      network_interfaces: [{ip}] for each of ipInterfaces when it lists more than one,
//	                      labels: tags, groups: [{name: rbacGroupName, uid: rbacGroupId}]}},
//	                      or dst_endpoint when its roles say destination, attacked
//	                      or commandAndControl (not source, attacker or compromised)
//	    userEvidence    → {user: {name: accountName, uid: userSid, email_addr: userPrincipalName, domain}}
//	    processEvidence → {process: {pid: processId, cmd_line, file: imageFile, user: userAccount}}
//	    fileEvidence    → {file: {name, path, hashes}}
//	    ipEvidence      → {src_endpoint: {ip: ipAddress}} (dst_endpoint by roles, as above)
//	    urlEvidence     → {url: {url_string: url}}
//	    mailboxEvidence → {user: {email_addr: primaryAddress}}
//	    other types stay in raw_data only.
//
// Graph alerts carry no confidence: confidence stays unknown.
func Graph(m map[string]any) (map[string]any, *Error) {
	uid := gets(m, "id")
	if uid == "" {
		return nil, &Error{Path: "id", Message: "is required for a Graph security alert"}
	}
	ts := cmp.Or(gets(m, "createdDateTime"), gets(m, "firstActivityDateTime"))
	ms, ok := millis(ts)
	if !ok {
		return nil, &Error{Path: "createdDateTime", Message: "must be an RFC 3339 date-time, got " + quote(ts)}
	}
	sev := map[string]int{"informational": 1, "low": 2, "medium": 3, "high": 4}[strings.ToLower(gets(m, "severity"))]
	out := base(uid, gets(m, "title"), graphProduct(gets(m, "serviceSource")), "Microsoft", "", sev, ms)
	fi := out["finding_info"].(map[string]any)
	put(fi, "desc", gets(m, "description"))
	put(fi, "src_url", gets(m, "alertWebUrl"))
	if mod, ok := millis(gets(m, "lastUpdateDateTime")); ok {
		fi["modified_time"] = mod
	}
	if c := gets(m, "category"); c != "" {
		fi["types"] = []any{c}
	}
	analytic := map[string]any{}
	put(analytic, "name", gets(m, "detectionSource"))
	put(analytic, "uid", gets(m, "detectorId"))
	put(fi, "analytic", analytic)
	put(out, "attacks", attacks(nil, strList(m["mitreTechniques"])...))
	switch strings.ToLower(gets(m, "status")) {
	case "new":
		out["status_id"], out["status"] = 1, "New"
	case "inprogress":
		out["status_id"], out["status"] = 2, "In Progress"
	case "resolved":
		out["status_id"], out["status"] = 4, "Resolved"
	}
	switch c := gets(m, "classification"); c {
	case "falsePositive", "informationalExpectedActivity":
		out["status_id"], out["status"] = 3, "Suppressed"
		fi["verdict"] = "False Positive"
	case "truePositive":
		fi["verdict"] = "True Positive"
	}

	var evs []any
	for _, e := range asList(m["evidence"]) {
		em := asMap(e)
		if ev := graphEvidence(em); len(ev) > 0 {
			evs = append(evs, ev)
		}
	}
	put(out, "evidences", evs)
	return out, nil
}

func graphEvidence(e map[string]any) map[string]any {
	ev := map[string]any{}
	switch strings.TrimPrefix(gets(e, "@odata.type"), "#microsoft.graph.security.") {
	case "deviceEvidence":
		d := map[string]any{}
		put(d, "hostname", gets(e, "deviceDnsName"))
		put(d, "uid", gets(e, "mdeDeviceId"))
		if ips := strList(e["ipInterfaces"]); len(ips) > 0 {
			d["ip"] = ips[0]
			// ipInterfaces lists every address the machine had (OCSF
			// device.network_interfaces[].ip): guardrails judge each.
			if len(ips) > 1 {
				nics := make([]any, 0, len(ips))
				for _, ip := range ips {
					nics = append(nics, map[string]any{"ip": ip})
				}
				d["network_interfaces"] = nics
			}
		}
		if os := gets(e, "osPlatform"); os != "" {
			d["os"] = map[string]any{"name": os}
		}
		// The machine's Defender tags ("custom tags … to denote a group
		// of devices, high-value assets") and its device group, which the
		// site's guardrails protect by tag (finding.AssetTags).
		var labels []any
		for _, t := range strList(e["tags"]) {
			labels = append(labels, t)
		}
		put(d, "labels", labels)
		g := map[string]any{}
		put(g, "name", gets(e, "rbacGroupName"))
		put(g, "uid", gets(e, "rbacGroupId"))
		if len(g) > 0 {
			d["groups"] = []any{g}
		}
		if farEnd(e) {
			put(ev, "dst_endpoint", d) // the target: listed, never contained as the affected host
		} else {
			put(ev, "device", d)
		}
	case "userEvidence":
		put(ev, "user", graphUser(asMap(e["userAccount"])))
	case "processEvidence":
		p := map[string]any{}
		put(p, "pid", getpid(e, "processId"))
		put(p, "cmd_line", gets(e, "processCommandLine"))
		put(p, "file", graphFile(asMap(e["imageFile"])))
		put(p, "user", graphUser(asMap(e["userAccount"])))
		if pf := graphFile(asMap(e["parentProcessImageFile"])); len(pf) > 0 {
			p["parent_process"] = map[string]any{"file": pf}
		}
		put(ev, "process", p)
	case "fileEvidence":
		put(ev, "file", graphFile(asMap(e["fileDetails"])))
	case "ipEvidence":
		if ip := gets(e, "ipAddress"); ip != "" {
			side := "src_endpoint"
			if farEnd(e) {
				side = "dst_endpoint"
			}
			ev[side] = map[string]any{"ip": ip}
		}
	case "urlEvidence":
		if u := gets(e, "url"); u != "" {
			ev["url"] = map[string]any{"url_string": u}
		}
	case "mailboxEvidence":
		u := map[string]any{}
		put(u, "email_addr", gets(e, "primaryAddress"))
		put(u, "name", gets(e, "displayName"))
		put(ev, "user", u)
	}
	return ev
}

// farEnd reports whether an evidence's roles name it the far end of the
// alert — destination, attacked or command-and-control — and not also
// the source, the attacker or compromised (Graph alertEvidence.roles).
func farEnd(e map[string]any) bool {
	far := false
	for _, r := range strList(e["roles"]) {
		switch r {
		case "destination", "attacked", "commandAndControl":
			far = true
		case "source", "attacker", "compromised":
			return false
		}
	}
	return far
}

func graphUser(a map[string]any) map[string]any {
	u := map[string]any{}
	put(u, "name", gets(a, "accountName"))
	put(u, "uid", cmp.Or(gets(a, "userSid"), gets(a, "azureAdUserId")))
	put(u, "domain", gets(a, "domainName"))
	if upn := gets(a, "userPrincipalName"); strings.Contains(upn, "@") {
		u["email_addr"] = upn
	}
	return u
}

func graphFile(f map[string]any) map[string]any {
	out := map[string]any{}
	put(out, "name", gets(f, "fileName"))
	put(out, "path", gets(f, "filePath"))
	put(out, "hashes", hashes("SHA-256", gets(f, "sha256"), "SHA-1", gets(f, "sha1")))
	return out
}

func graphProduct(source string) string {
	switch source {
	case "microsoftDefenderForEndpoint":
		return "Microsoft Defender for Endpoint"
	case "microsoftDefenderForIdentity":
		return "Microsoft Defender for Identity"
	case "microsoftDefenderForCloudApps":
		return "Microsoft Defender for Cloud Apps"
	case "microsoftDefenderForOffice365":
		return "Microsoft Defender for Office 365"
	case "microsoft365Defender":
		return "Microsoft 365 Defender"
	case "azureAdIdentityProtection":
		return "Microsoft Entra ID Protection"
	case "":
		return "Microsoft Graph security"
	}
	return source
}

func isGraph(m map[string]any) bool {
	if gets(m, "@odata.type") == "#microsoft.graph.security.alert" {
		return true
	}
	_, ev := m["evidence"].([]any)
	return ev && gets(m, "providerAlertId") != "" && gets(m, "serviceSource") != "" && gets(m, "detectionSource") != ""
}
