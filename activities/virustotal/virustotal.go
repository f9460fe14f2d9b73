// Package virustotal is the VirusTotal connector: read-only reputation
// lookups of files, IPs and domains on API v3, where only VirusTotal's own
// NotFoundError means "unknown". Its README cites the vendor documentation
// the code and the fake (fake.go) follow.
package virustotal

import (
	"context"
	_ "embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
)

// VirusTotal API v3 reports for a file hash, an IP and a domain. A 404
// NotFoundError is an answer ("VirusTotal has never seen it"), not a
// failure.

// Type is the virustotal connection type: what a connection needs in riposte.yaml.
var Type = connector.ConnectionType{
	Name: "virustotal", Description: "VirusTotal API v3.", DefaultBaseURL: "https://www.virustotal.com",
	Fields: []connector.ConnectionField{
		{Name: "api_key", Secret: true, Required: true, Description: "VirusTotal API key.", Example: "{env: VT_API_KEY}"},
	},
}

// docs is the connector's docs fragment (docs/actions.md is generated
// from it).
//
//go:embed README.md
var docs string

// Connector is this vendor's line in the registry (activities/connections.go).
func Connector() connector.Vendor {
	return connector.Vendor{Docs: docs, Type: Type, Definitions: Definitions, Check: check,
		Needs: "a VirusTotal API key (public keys: 4 lookups/min, 500/day)"}
}

func Definitions() []connector.Definition {
	outputs := []catalog.Field{
		{Name: "found", Type: catalog.TypeBool, Description: "Whether VirusTotal knows the object; when false the counts are 0."},
		{Name: "analysed", Type: catalog.TypeBool, Description: "Whether any engine has judged it (malicious, suspicious, harmless or undetected); false when no engine gave one: VirusTotal knows it but has not analysed it yet, or every engine timed out, failed or does not support its type (last_analysis_stats timeout, confirmed-timeout, failure, type-unsupported), or VirusTotal does not know it: then 0 malicious is no verdict, not clean."},
		{Name: "malicious", Type: catalog.TypeInt, Description: "Engines that flag it malicious."},
		{Name: "suspicious", Type: catalog.TypeInt, Description: "Engines that flag it suspicious."},
		{Name: "harmless", Type: catalog.TypeInt, Description: "Engines that call it harmless."},
		{Name: "undetected", Type: catalog.TypeInt, Description: "Engines with no detection."},
		{Name: "reputation", Type: catalog.TypeInt, Description: "Community reputation score (negative is bad)."},
		{Name: "link", Type: catalog.TypeString, Description: "VirusTotal page of the object."},
		connector.ConnectionOutput(),
	}
	connP := connector.ConnectionParam("virustotal")
	return []connector.Definition{
		{
			Action: catalog.Action{
				Name: "virustotal.file_report", Vendor: "virustotal", Risk: catalog.RiskRead,
				Description: "Looks up a file hash (MD5, SHA-1 or SHA-256) on VirusTotal: detection counts and reputation.",
				Params:      []catalog.Param{{Name: "hash", Type: catalog.TypeString, Required: true, Description: "MD5, SHA-1 or SHA-256 of the file."}, connP},
				Outputs:     outputs,
			},
			Run: connector.Run(Type, "VirusTotal", false, func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				h, err := connector.RequireString(c.Call, "hash")
				if err != nil {
					return nil, err
				}
				h = strings.ToLower(h)
				if _, err := hex.DecodeString(h); err != nil || (len(h) != 32 && len(h) != 40 && len(h) != 64) {
					return nil, connector.InvalidParam("virustotal.file_report: %q is not an MD5, SHA-1 or SHA-256 hex digest", h)
				}
				return vtReport(ctx, c, "files", h, "file")
			}),
		},
		{
			Action: catalog.Action{
				Name: "virustotal.ip_report", Vendor: "virustotal", Risk: catalog.RiskRead,
				Description: "Looks up an IP address on VirusTotal: detection counts and reputation.",
				Params:      []catalog.Param{{Name: "ip", Type: catalog.TypeString, Required: true, Description: "IPv4 or IPv6 address."}, connP},
				Outputs:     outputs,
			},
			Run: connector.Run(Type, "VirusTotal", false, func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				ip, err := connector.RequireIP(c.Call, "ip")
				if err != nil {
					return nil, err
				}
				return vtReport(ctx, c, "ip_addresses", ip.String(), "ip-address")
			}),
		},
		{
			Action: catalog.Action{
				Name: "virustotal.domain_report", Vendor: "virustotal", Risk: catalog.RiskRead,
				Description: "Looks up a domain on VirusTotal: detection counts and reputation.",
				Params:      []catalog.Param{{Name: "domain", Type: catalog.TypeString, Required: true, Description: "Domain name, e.g. example.com."}, connP},
				Outputs:     outputs,
			},
			Run: connector.Run(Type, "VirusTotal", false, func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				d, err := connector.RequireString(c.Call, "domain")
				if err != nil {
					return nil, err
				}
				d = strings.TrimSuffix(strings.ToLower(d), ".")
				if !connector.ValidHostname(d) || !strings.Contains(d, ".") {
					return nil, connector.InvalidParam("virustotal.domain_report: %q is not a domain name", d)
				}
				return vtReport(ctx, c, "domains", d, "domain")
			}),
		},
	}
}

func vtReport(ctx context.Context, c *connector.Conn, collection, id, gui string) (map[string]any, error) {
	wrap := func(err error) error { return fmt.Errorf("looking up %s on VirusTotal: %w", id, err) }
	if err := c.UseSecretHeader("api_key", "x-apikey", ""); err != nil {
		return nil, wrap(err)
	}
	out := map[string]any{"found": false, "analysed": false, "malicious": 0, "suspicious": 0, "harmless": 0, "undetected": 0, "reputation": 0,
		"link": "https://www.virustotal.com/gui/" + gui + "/" + url.PathEscape(id)}
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodGet, Path: "/api/v3/" + collection + "/" + url.PathEscape(id)})
	if err != nil {
		return nil, wrap(err)
	}
	code, msg := connector.MSError(resp.Body) // VT errors share the {"error":{"code","message"}} shape
	if resp.Status == http.StatusNotFound {
		// Only VirusTotal's own NotFoundError means "unknown to VT" (API v3
		// reference, "Errors"). A 404 without it comes from something else
		// (a wrong base_url, a proxy) and must not read as a clean verdict.
		if code == "NotFoundError" {
			return out, nil
		}
		return nil, wrap(connector.NewFailure(connector.KindVendorError, fmt.Sprintf(
			"%s answered HTTP 404 without VirusTotal's NotFoundError body (%s); check base_url and any proxy: this is not a verdict",
			c.Where(), connector.Snippet(resp.Body))))
	}
	if !resp.OK() {
		if code == "QuotaExceededError" && resp.Status != http.StatusTooManyRequests {
			resp.Status = http.StatusTooManyRequests
		}
		return nil, wrap(c.StatusError(resp, msg, ""))
	}
	var r struct {
		Data struct {
			Attributes struct {
				Stats      map[string]int `json:"last_analysis_stats"`
				Reputation int            `json:"reputation"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := c.DecodeJSON(resp, &r); err != nil {
		return nil, wrap(err)
	}
	st := r.Data.Attributes.Stats
	if st == nil {
		// Every VirusTotal file, IP address and domain object carries
		// last_analysis_stats (API v3 reference, the objects' attributes).
		// A 200 without it is someone else's answer (a proxy, a base_url
		// that is another API): its zeros are not a clean verdict.
		return nil, wrap(connector.NewFailure(connector.KindVendorError, fmt.Sprintf(
			"%s answered HTTP %d without data.attributes.last_analysis_stats (%s); check base_url and any proxy: this is not a verdict",
			c.Where(), resp.Status, connector.Snippet(resp.Body))))
	}
	out["found"] = true
	out["malicious"], out["suspicious"], out["harmless"], out["undetected"] = st["malicious"], st["suspicious"], st["harmless"], st["undetected"]
	// An object no engine has judged yet (just submitted, or never
	// scanned) has every count 0 and empty last_analysis_results: its 0
	// malicious is not a clean verdict, and a playbook must be able to
	// tell the two apart. Timeouts and failures are no verdict either.
	out["analysed"] = st["malicious"]+st["suspicious"]+st["harmless"]+st["undetected"] > 0
	out["reputation"] = r.Data.Attributes.Reputation
	return out, nil
}

// check looks up one address (one request of the API key's quota).
func check(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	if _, err := vtReport(ctx, c, "ip_addresses", "8.8.8.8", "ip-address"); err != nil {
		return nil, err
	}
	return map[string]any{"detail": "API key ok (one lookup spent)"}, nil
}
