package workflows

import (
	"cmp"

	"github.com/riposte-dev/riposte/internal/finding"
)

// The approval request's detection summary as runs whose gates opened
// before ChangeSummaryFromView compute it, kept unchanged so that the
// message their gates rewrite on every decision keeps showing what it first
// showed. Remove once no such run is open.

// legacySummary is what an approver saw of the detection before
// ChangeSummaryFromView: the raw detection's fields, each completed from the
// finding view when missing.
func legacySummary(det, view map[string]any) DetectionSummary {
	return legacyFill(legacyRaw(det), view)
}

func legacyRaw(det map[string]any) DetectionSummary {
	str := func(path ...string) string {
		var cur any = det
		for _, p := range path {
			m, ok := cur.(map[string]any)
			if !ok {
				return ""
			}
			cur = m[p]
		}
		s, _ := cur.(string)
		return s
	}
	num := func(k string) (int, bool) {
		switch v := det[k].(type) {
		case int:
			return v, true
		case int64:
			return int(v), true
		case float64:
			return int(v), true
		}
		return 0, false
	}
	s := DetectionSummary{
		ID:       str("finding_info", "uid"),
		Title:    str("finding_info", "title"),
		Detector: str("metadata", "product", "name"),
		Severity: str("severity"),
		Host:     cmp.Or(str("device", "hostname"), str("device", "name")),
		User:     cmp.Or(str("actor", "user", "email_addr"), str("actor", "user", "name")),
		IP:       cmp.Or(str("src_endpoint", "ip"), str("dst_endpoint", "ip"), str("device", "ip")),
	}
	if v := str("metadata", "product", "version"); v != "" && s.Detector != "" {
		s.Detector += "/" + v
	}
	s.SeverityID, _ = num("severity_id")
	if c, ok := num("confidence_score"); ok {
		s.Confidence = &c
	}
	for _, id := range finding.AttackIDs(det) {
		s.AttackIDs = append(s.AttackIDs, id.(string))
	}
	return s
}

func legacyFill(s DetectionSummary, view map[string]any) DetectionSummary {
	if view == nil {
		return s
	}
	first := func(kind string) string {
		l, _ := view[kind].([]any)
		if kind == "ips" {
			ips, _ := view["ips"].(map[string]any)
			l, _ = ips["all"].([]any)
		}
		if len(l) == 0 {
			return ""
		}
		m, _ := l[0].(map[string]any)
		v, _ := m["value"].(string)
		return v
	}
	if s.Host == "" {
		s.Host = first("hosts")
	}
	if s.User == "" {
		s.User = first("users")
	}
	if s.IP == "" {
		s.IP = first("ips")
	}
	if s.Title == "" {
		s.Title = str(view["title"])
	}
	if s.ID == "" {
		s.ID = str(view["uid"])
	}
	if s.Confidence == nil {
		if c, ok := finding.Number(view["confidence"]); ok {
			n := int(c)
			s.Confidence = &n
		}
	}
	return s
}
