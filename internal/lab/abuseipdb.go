package lab

import (
	"fmt"
	"html"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// AbuseIPDB API v2 fake: GET /api/v2/check. Like AbuseIPDB, errors come
// back as HTML unless the request says Accept: application/json.

type abuseReport struct {
	score, reports    int
	country, isp, use string
	whitelisted       bool
}

var abuseReports = map[string]abuseReport{
	KnownBad.IP:     {100, 57, "NL", "Bulletproof Hosting BV", "Data Center/Web Hosting/Transit", false},
	"198.51.100.23": {85, 12, "RU", "Example Transit", "Data Center/Web Hosting/Transit", false},
	"8.8.8.8":       {0, 0, "US", "Google LLC", "Content Delivery Network", true},
}

func abuseError(w http.ResponseWriter, r *http.Request, status int, detail, param string) {
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>%d</title></head><body><h1>Error %d</h1><p>%s</p></body></html>", status, status, html.EscapeString(detail))
		return
	}
	e := map[string]any{"detail": detail, "status": status}
	if param != "" {
		e["source"] = map[string]any{"parameter": param}
	}
	writeJSON(w, status, map[string]any{"errors": []any{e}})
}

func (l *Lab) abuseipdbRoutes(mux *http.ServeMux) {
	fault := func(w http.ResponseWriter, f *Fault) {
		if f.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", seconds(f.RetryAfter))
			w.Header().Set("X-RateLimit-Limit", "1000")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", epoch(f.RetryAfter))
		}
		writeJSON(w, f.Status, map[string]any{"errors": []any{map[string]any{"detail": fmt.Sprintf("Injected fault: HTTP %d.", f.Status), "status": f.Status}}})
	}
	l.handle(mux, AbuseIPDB, "GET /abuseipdb/api/v2/check", readRoute, fault, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Key") != abuseKey {
			abuseError(w, r, http.StatusUnauthorized, "Authentication failed. Your API key is either missing, incorrect, or revoked. Note: The APIv2 key differs from the APIv1 key.", "")
			return
		}
		q := r.URL.Query()
		addr, err := netip.ParseAddr(q.Get("ipAddress"))
		if err != nil {
			abuseError(w, r, http.StatusUnprocessableEntity, "The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).", "ipAddress")
			return
		}
		if s := q.Get("maxAgeInDays"); s != "" {
			if n, err := strconv.Atoi(s); err != nil || n < 1 || n > 365 {
				abuseError(w, r, http.StatusUnprocessableEntity, "The max age in days must be between 1 and 365.", "maxAgeInDays")
				return
			}
		}
		ip := addr.String()
		rep, known := abuseReports[ip]
		data := map[string]any{"ipAddress": ip, "isPublic": !(addr.IsPrivate() || addr.IsLoopback()), "ipVersion": map[bool]int{true: 4, false: 6}[addr.Is4()],
			"isWhitelisted": nil, "abuseConfidenceScore": 0, "countryCode": nil, "usageType": nil, "isp": nil, "domain": nil,
			"hostnames": []string{}, "totalReports": 0, "numDistinctUsers": 0, "lastReportedAt": nil}
		if known {
			data["isWhitelisted"], data["abuseConfidenceScore"], data["countryCode"] = rep.whitelisted, rep.score, rep.country
			data["usageType"], data["isp"], data["totalReports"], data["numDistinctUsers"] = rep.use, rep.isp, rep.reports, rep.reports/2
			if rep.reports > 0 {
				data["lastReportedAt"] = time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second).Format("2006-01-02T15:04:05+00:00")
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": data})
	})
}
