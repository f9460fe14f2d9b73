package abuseipdb

import (
	"embed"
	"fmt"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/labkit"
	"html"
	"maps"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// AbuseIPDB API v2 fake: GET /api/v2/check. Like AbuseIPDB, errors come
// back as HTML unless the request says Accept: application/json.

// sampleCheck is the documented check answer's data (testdata/README.md).
var (
	//go:embed testdata/check-verbose.json
	samples     embed.FS
	sampleCheck = labkit.Sample(samples, "testdata/check-verbose.json")["data"].(map[string]any)
)

type abuseReport struct {
	score, reports    int
	country, isp, use string
	whitelisted       bool
}

var abuseReports = map[string]abuseReport{
	labkit.KnownBad.IP: {100, 57, "NL", "Bulletproof Hosting BV", "Data Center/Web Hosting/Transit", false},
	"198.51.100.23":    {85, 12, "RU", "Example Transit", "Data Center/Web Hosting/Transit", false},
	"8.8.8.8":          {0, 0, "US", "Google LLC", "Content Delivery Network", true},
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
	labkit.WriteJSON(w, status, map[string]any{"errors": []any{e}})
}

// Routes implements labkit.Fake.
func (fk *Fake) Routes(mux *http.ServeMux) {
	fault := func(w http.ResponseWriter, f *labkit.Fault) {
		if f.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", labkit.Seconds(f.RetryAfter))
			w.Header().Set("X-RateLimit-Limit", "1000")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", labkit.Epoch(f.RetryAfter))
		}
		labkit.WriteJSON(w, f.Status, map[string]any{"errors": []any{map[string]any{"detail": fmt.Sprintf("Injected fault: HTTP %d.", f.Status), "status": f.Status}}})
	}
	fk.Handle(mux, vendorName, "GET /abuseipdb/api/v2/check", labkit.ReadRoute, fault, func(w http.ResponseWriter, r *http.Request) {
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
		doc := sampleCheck
		if _, verbose := q["verbose"]; !verbose {
			// countryName and reports come only with verbose (docs).
			doc = maps.Clone(doc)
			delete(doc, "countryName")
			delete(doc, "reports")
		}
		fields := map[string]any{"ipAddress": ip, "isPublic": !(addr.IsPrivate() || addr.IsLoopback()), "ipVersion": map[bool]int{true: 4, false: 6}[addr.Is4()],
			"isWhitelisted": nil, "abuseConfidenceScore": 0, "countryCode": nil, "usageType": nil, "isp": nil, "domain": nil,
			"hostnames": []string{}, "isTor": false, "totalReports": 0, "numDistinctUsers": 0, "lastReportedAt": nil}
		if _, ok := doc["reports"]; ok {
			fields["countryName"], fields["reports"] = nil, []any{}
		}
		if known {
			fields["isWhitelisted"], fields["abuseConfidenceScore"], fields["countryCode"] = rep.whitelisted, rep.score, rep.country
			fields["usageType"], fields["isp"], fields["totalReports"], fields["numDistinctUsers"] = rep.use, rep.isp, rep.reports, rep.reports/2
			if rep.reports > 0 {
				fields["lastReportedAt"] = time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second).Format("2006-01-02T15:04:05+00:00")
			}
		}
		data := labkit.Overlay(doc, fields)
		labkit.WriteJSON(w, http.StatusOK, map[string]any{"data": data})
	})
}

// vendorName is the fake's name: the connection type, the key of its
// faults, calls and requests.
const vendorName = "abuseipdb"

// Lab credentials. They are public test constants, not secrets.
const (
	abuseKey = "lab-abuseipdb-key"
)

// Fake is the lab's AbuseIPDB fake (see the comment at the top of this file).
type Fake struct {
	labkit.Base
}

// NewFake returns the fake, serving on the lab of k.
func NewFake(k *labkit.Kit) *Fake { return &Fake{Base: labkit.NewBase(k, vendorName)} }

// Connections implements labkit.Fake.
func (fk *Fake) Connections() map[string]connector.Connection {
	return map[string]connector.Connection{
		vendorName: {Type: vendorName, BaseURL: fk.URL + "/abuseipdb",
			Secrets: map[string]connector.SecretRef{"api_key": labkit.Lit(abuseKey)}},
	}
}
