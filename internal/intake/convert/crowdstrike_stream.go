package convert

import (
	"strings"
	"time"
)

// falconStream turns a Falcon event stream detection (the Event Streams
// API, and the SIEM connector that writes it to a file):
//
//	{"metadata": {"eventType": "EppDetectionSummaryEvent", "eventCreationTime": <ms>, …},
//	 "event": {"CompositeId", "Hostname", "UserName", "SeverityName", …}}
//
// into the Alerts API record CrowdStrike reads, so both spellings of one
// alert give the same finding (and the same run). It returns nil when m is
// not an event stream record, and an error for a stream record that is not
// a detection summary. Field mapping (the rest stays in raw_data):
//
//	CompositeId (legacy DetectionSummaryEvent, IdP: DetectId) → composite_id
//	Name / DetectName, Description / DetectDescription       → name, description
//	SeverityName; else Severity 1-5 (legacy) or 0-100 (Epp)   → severity_name, severity
//	                (the IdP scale is undocumented: severity unknown)
//	metadata.eventCreationTime (epoch ms)                     → timestamp
//	Hostname / ComputerName, LocalIP, AgentId / SensorId, MachineDomain → device
//	UserName, LogonDomain                                     → user_name, logon_domain
//	FileName, FilePath, CommandLine, SHA256String, MD5String, SHA1String → the process
//	ParentImageFileName, ParentImageFilePath, ParentCommandLine → parent_details
//	Tactic, Technique (+ TacticId, TechniqueId when sent), PatternId, FalconHostLink
//	SourceAccount{Name,Domain,ObjectSid,Upn}, SourceEndpoint{HostName,IpAddress},
//	TargetEndpointHostName                                    → the identity fields
//
// The eventType prefix (Epp, Idp, Xdr…) is the product ("Falcon EPP"); the
// legacy DetectionSummaryEvent is an EPP detection. ProcessId is Falcon's
// process graph id, not the OS pid, and is not mapped.
func falconStream(m map[string]any) (map[string]any, *Error) {
	md, ev := asMap(m["metadata"]), asMap(m["event"])
	if md == nil || ev == nil || gets(md, "eventType") == "" {
		return nil, nil
	}
	et := gets(md, "eventType")
	if !strings.HasSuffix(strings.ToLower(et), "detectionsummaryevent") {
		return nil, &Error{Path: "metadata.eventType", Message: "must be a detection summary (EppDetectionSummaryEvent, IdpDetectionSummaryEvent, DetectionSummaryEvent…) for a Falcon event stream record, got " + quote(et)}
	}
	product := strings.ToLower(strings.TrimSuffix(strings.ToLower(et), "detectionsummaryevent"))
	if product == "" {
		product = "epp"
	}
	a := map[string]any{"product": product}
	set := func(k string, keys ...string) {
		for _, key := range keys {
			if v := gets(ev, key); v != "" {
				a[k] = v
				return
			}
		}
	}
	set("composite_id", "CompositeId", "DetectId")
	if a["composite_id"] == nil {
		return nil, &Error{Path: "event.CompositeId", Message: "is required for a Falcon event stream detection (or event.DetectId)"}
	}
	set("cid", "CustomerId")
	if a["cid"] == nil {
		if c := gets(md, "customerIDString"); c != "" {
			a["cid"] = c
		}
	}
	set("name", "Name", "DetectName")
	set("description", "Description", "DetectDescription")
	set("falcon_host_link", "FalconHostLink")
	set("pattern_id", "PatternId")
	set("tactic", "Tactic")
	set("technique", "Technique")
	set("tactic_id", "TacticId", "TacticID")
	set("technique_id", "TechniqueId", "TechniqueID")
	if at := asList(ev["MitreAttack"]); len(at) > 0 {
		first := asMap(at[0])
		if a["tactic_id"] == nil {
			if v := gets(first, "TacticID"); v != "" {
				a["tactic_id"] = v
			}
		}
		if a["technique_id"] == nil {
			if v := gets(first, "TechniqueID"); v != "" {
				a["technique_id"] = v
			}
		}
	}
	set("severity_name", "SeverityName")
	if a["severity_name"] == nil {
		if n, ok := getn(ev, "Severity"); ok {
			switch {
			case strings.EqualFold(et, "DetectionSummaryEvent"):
				if name := map[int]string{1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}[int(n)]; name != "" {
					a["severity_name"] = name
				}
			case product == "epp":
				a["severity"] = n
			}
		}
	}
	ms, ok := getn(md, "eventCreationTime")
	if !ok || ms <= 0 {
		return nil, &Error{Path: "metadata.eventCreationTime", Message: "must be epoch milliseconds for a Falcon event stream detection"}
	}
	a["timestamp"] = time.UnixMilli(int64(ms)).UTC().Format(time.RFC3339Nano)
	dev := map[string]any{}
	for k, keys := range map[string][]string{"hostname": {"Hostname", "ComputerName"}, "local_ip": {"LocalIP"}, "device_id": {"AgentId", "SensorId"}, "machine_domain": {"MachineDomain"}} {
		for _, key := range keys {
			if v := gets(ev, key); v != "" {
				dev[k] = v
				break
			}
		}
	}
	put(a, "device", dev)
	set("user_name", "UserName")
	set("logon_domain", "LogonDomain")
	set("filename", "FileName")
	set("filepath", "FilePath")
	set("cmdline", "CommandLine")
	set("sha256", "SHA256String")
	set("md5", "MD5String")
	set("sha1", "SHA1String")
	parent := map[string]any{}
	put(parent, "filename", gets(ev, "ParentImageFileName"))
	put(parent, "filepath", gets(ev, "ParentImageFilePath"))
	put(parent, "cmdline", gets(ev, "ParentCommandLine"))
	put(a, "parent_details", parent)
	set("source_account_name", "SourceAccountName")
	set("source_account_domain", "SourceAccountDomain")
	set("source_account_object_sid", "SourceAccountObjectSid")
	set("source_account_upn", "SourceAccountUpn")
	set("source_endpoint_host_name", "SourceEndpointHostName")
	set("source_endpoint_ip_address", "SourceEndpointIpAddress")
	set("target_endpoint_host_name", "TargetEndpointHostName")
	return a, nil
}

func isFalconStream(m map[string]any) bool {
	md, ev := asMap(m["metadata"]), asMap(m["event"])
	return md != nil && ev != nil && gets(md, "customerIDString") != "" &&
		strings.HasSuffix(strings.ToLower(gets(md, "eventType")), "detectionsummaryevent") &&
		(gets(ev, "CompositeId") != "" || gets(ev, "DetectId") != "")
}
