package virustotal

import (
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/labkit"
	"net/http"
	"net/netip"
	"strings"
)

// VirusTotal API v3 fake: canned reports for a few known-bad and known-good
// files, IPs and domains, and one of each VirusTotal knows but no engine
// has analysed yet (labkit.Unanalysed: every last_analysis_stats count 0,
// last_analysis_results empty, no last_analysis_date, as
// testdata/domain-report-unanalysed.json); anything else is 404
// NotFoundError, as on VirusTotal for objects it has never seen.
//
// Sources (testdata/README.md): docs.virustotal.com/reference/errors (every
// error is {"error":{"code","message"}}; 404 NotFoundError for an unknown
// object, 401 AuthenticationRequiredError / WrongCredentialsError, 429
// QuotaExceededError, 503 TransientError); the object pages ("IP
// addresses", "Domains", "Files": data.id, data.type, data.links.self,
// data.attributes; last_analysis_stats of IPs and domains counts harmless,
// malicious, suspicious, timeout and undetected, a file's adds
// confirmed-timeout, failure and type-unsupported); a domain report as the
// API answers it in testdata/domain-report.json. TestDocumentedSamples
// checks the fake's answers against those samples.

type vtStats struct{ malicious, suspicious, harmless, undetected, reputation int }

var vtFiles = map[string]vtStats{
	labkit.KnownBad.FileSHA256:                 {62, 1, 0, 8, -120},
	labkit.KnownBad.FileMD5:                    {62, 1, 0, 8, -120},
	"3395856ce81f2b7382dee72602f798b642f14140": {62, 1, 0, 8, -120}, // EICAR SHA-1
	// The empty file: known, clean.
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855": {0, 0, 0, 71, 0},
	labkit.Unanalysed.FileSHA256:                                       {}, // known, no engine's verdict yet
}

var vtIPs = map[string]vtStats{
	labkit.KnownBad.IP:   {11, 2, 50, 31, -35},
	"198.51.100.23":      {5, 1, 55, 33, -12},
	"8.8.8.8":            {0, 0, 66, 28, 540},
	"1.1.1.1":            {0, 0, 65, 29, 320},
	labkit.Unanalysed.IP: {}, // known, no engine's verdict yet
}

var vtDomains = map[string]vtStats{
	labkit.KnownBad.Domain:      {9, 3, 52, 30, -40},
	labkit.KnownBad.PhishDomain: {14, 2, 48, 30, -71},
	"example.com":               {0, 0, 67, 27, 12},
	labkit.Unanalysed.Domain:    {}, // known, no engine's verdict yet
}

func vtError(w http.ResponseWriter, status int, code, msg string) {
	labkit.WriteJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func vtFault(w http.ResponseWriter, f *labkit.Fault) {
	switch f.Status {
	case http.StatusTooManyRequests:
		vtError(w, f.Status, "QuotaExceededError", "Quota exceeded")
	case http.StatusUnauthorized:
		vtError(w, f.Status, "WrongCredentialsError", "Wrong API key")
	default:
		vtError(w, f.Status, "TransientError", http.StatusText(f.Status))
	}
}

// Routes implements labkit.Fake.
func (fk *Fake) Routes(mux *http.ServeMux) {
	serve := func(kind string, table map[string]vtStats, norm func(string) (string, bool)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			switch key := r.Header.Get("x-apikey"); key {
			case vtKey:
			case "":
				vtError(w, http.StatusUnauthorized, "AuthenticationRequiredError", "X-Apikey header is missing")
				return
			default:
				vtError(w, http.StatusUnauthorized, "WrongCredentialsError", "Wrong API key")
				return
			}
			id, ok := norm(r.PathValue("id"))
			if !ok {
				vtError(w, http.StatusBadRequest, "InvalidArgumentError", "Invalid "+kind+" "+r.PathValue("id"))
				return
			}
			st, known := table[id]
			if !known {
				vtError(w, http.StatusNotFound, "NotFoundError", kind+` "`+id+`" not found`)
				return
			}
			stats := map[string]any{"malicious": st.malicious, "suspicious": st.suspicious, "harmless": st.harmless,
				"undetected": st.undetected, "timeout": 0}
			if kind == "file" {
				// Only file analyses count these ("Files" object page).
				stats["confirmed-timeout"], stats["failure"], stats["type-unsupported"] = 0, 0, 0
			}
			attrs := map[string]any{"reputation": st.reputation, "last_analysis_stats": stats}
			if st == (vtStats{}) {
				// Not analysed by any engine: no per-engine results to sum.
				attrs["last_analysis_results"] = map[string]any{}
			}
			labkit.WriteJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"id": id, "type": kind,
				"links":      map[string]any{"self": fk.URL + "/virustotal" + strings.TrimPrefix(r.URL.Path, "/virustotal")},
				"attributes": attrs,
			}})
		}
	}
	fk.Handle(mux, vendorName, "GET /virustotal/api/v3/files/{id}", labkit.ReadRoute, vtFault, serve("file", vtFiles, func(s string) (string, bool) {
		s = strings.ToLower(s)
		return s, len(s) == 32 || len(s) == 40 || len(s) == 64
	}))
	fk.Handle(mux, vendorName, "GET /virustotal/api/v3/ip_addresses/{id}", labkit.ReadRoute, vtFault, serve("ip_address", vtIPs, func(s string) (string, bool) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return "", false
		}
		return a.String(), true
	}))
	fk.Handle(mux, vendorName, "GET /virustotal/api/v3/domains/{id}", labkit.ReadRoute, vtFault, serve("domain", vtDomains, func(s string) (string, bool) {
		return strings.ToLower(s), strings.Contains(s, ".")
	}))
}

// vendorName is the fake's name: the connection type, the key of its
// faults, calls and requests.
const vendorName = "virustotal"

// Lab credentials. They are public test constants, not secrets.
const (
	vtKey = "lab-vt-key"
)

// Fake is the lab's VirusTotal fake (see the comment at the top of this file).
type Fake struct {
	labkit.Base
}

// NewFake returns the fake, serving on the lab of k.
func NewFake(k *labkit.Kit) *Fake { return &Fake{Base: labkit.NewBase(k, vendorName)} }

// Connections implements labkit.Fake.
func (fk *Fake) Connections() map[string]connector.Connection {
	return map[string]connector.Connection{
		vendorName: {Type: vendorName, BaseURL: fk.URL + "/virustotal",
			Secrets: map[string]connector.SecretRef{"api_key": labkit.Lit(vtKey)}},
	}
}
