// Package abuseipdb is the AbuseIPDB connector: abuseipdb.check_ip reads an
// address's abuse confidence score and report count from API v2. Its
// README cites the vendor documentation the code and the fake follow.
package abuseipdb

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
)

// AbuseIPDB API v2: abuse reports for an IP. Without Accept:
// application/json AbuseIPDB answers errors as HTML, so it is always sent.

// Type is the abuseipdb connection type: what a connection needs in riposte.yaml.
var Type = connector.ConnectionType{
	Name: "abuseipdb", Description: "AbuseIPDB API v2.", DefaultBaseURL: "https://api.abuseipdb.com",
	Fields: []connector.ConnectionField{
		{Name: "api_key", Secret: true, Required: true, Description: "AbuseIPDB API key.", Example: "{env: ABUSEIPDB_API_KEY}"},
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
		Needs: "an AbuseIPDB API v2 key"}
}

func Definitions() []connector.Definition {
	return []connector.Definition{{
		Action: catalog.Action{
			Name: "abuseipdb.check_ip", Vendor: "abuseipdb", Risk: catalog.RiskRead,
			Description: "Checks an IP address on AbuseIPDB: abuse confidence score (0-100) and report count.",
			Params: []catalog.Param{
				{Name: "ip", Type: catalog.TypeString, Required: true, Description: "IPv4 or IPv6 address."},
				{Name: "max_age_days", Type: catalog.TypeInt, Description: "Only count reports of the last N days, 1-365 (default 90)."},
				connector.ConnectionParam("abuseipdb"),
			},
			Outputs: []catalog.Field{
				{Name: "ip", Type: catalog.TypeString, Description: "The address."},
				{Name: "abuse_confidence_score", Type: catalog.TypeInt, Description: "0 (clean) to 100 (certainly abusive)."},
				{Name: "total_reports", Type: catalog.TypeInt, Description: "Reports in the period."},
				{Name: "country_code", Type: catalog.TypeString, Description: "ISO country code, if known."},
				{Name: "is_whitelisted", Type: catalog.TypeBool, Description: "Whether AbuseIPDB whitelists the address."},
				{Name: "is_public", Type: catalog.TypeBool, Description: "Whether the address is public."},
				{Name: "isp", Type: catalog.TypeString, Description: "ISP, if known."},
				{Name: "usage_type", Type: catalog.TypeString, Description: "Usage type, if known."},
				{Name: "last_reported_at", Type: catalog.TypeString, Description: "Time of the latest report, or empty."},
				connector.ConnectionOutput(),
			},
		},
		Run: connector.Run(Type, "AbuseIPDB", false, abuseipdbCheck),
	}}
}

func abuseipdbCheck(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	addr, err := connector.RequireIP(c.Call, "ip")
	if err != nil {
		return nil, err
	}
	ip := addr.String()
	days, err := connector.OptInt(c.Call, "max_age_days", 90)
	if err != nil {
		return nil, err
	}
	if days < 1 || days > 365 {
		return nil, connector.InvalidParam("abuseipdb.check_ip: max_age_days must be 1-365, got %d", days)
	}
	wrap := func(err error) error { return fmt.Errorf("checking %s on AbuseIPDB: %w", ip, err) }
	if err := c.UseSecretHeader("api_key", "Key", ""); err != nil {
		return nil, wrap(err)
	}
	resp, err := c.Do(ctx, connector.Request{
		Method: http.MethodGet, Path: "/api/v2/check",
		Query:  url.Values{"ipAddress": {ip}, "maxAgeInDays": {strconv.Itoa(days)}},
		Header: http.Header{"Accept": {"application/json"}},
	})
	if err != nil {
		return nil, wrap(err)
	}
	if !resp.OK() {
		var e struct {
			Errors []struct {
				Detail string `json:"detail"`
			} `json:"errors"`
		}
		_ = json.Unmarshal(resp.Body, &e)
		var msgs []string
		for _, d := range e.Errors {
			msgs = append(msgs, d.Detail)
		}
		return nil, wrap(c.StatusError(resp, strings.Join(msgs, "; "), ""))
	}
	var r struct {
		Data struct {
			IPAddress     string  `json:"ipAddress"`
			IsPublic      bool    `json:"isPublic"`
			IsWhitelisted *bool   `json:"isWhitelisted"`
			Score         *int    `json:"abuseConfidenceScore"`
			CountryCode   *string `json:"countryCode"`
			UsageType     *string `json:"usageType"`
			ISP           *string `json:"isp"`
			TotalReports  int     `json:"totalReports"`
			LastReported  *string `json:"lastReportedAt"`
		} `json:"data"`
	}
	if err := c.DecodeJSON(resp, &r); err != nil {
		return nil, wrap(err)
	}
	d := r.Data
	if d.Score == nil {
		// AbuseIPDB's CHECK answer always holds the score (docs.abuseipdb.com,
		// "CHECK Endpoint"). A 200 without it is someone else's answer (a
		// proxy, a base_url that is another API): not a score of 0.
		return nil, wrap(connector.NewFailure(connector.KindVendorError, fmt.Sprintf(
			"%s answered HTTP %d without data.abuseConfidenceScore (%s); check base_url and any proxy: this is not a verdict",
			c.Where(), resp.Status, connector.Snippet(resp.Body))))
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return map[string]any{
		"ip":                     ip,
		"abuse_confidence_score": *d.Score,
		"total_reports":          d.TotalReports,
		"country_code":           str(d.CountryCode),
		"is_whitelisted":         d.IsWhitelisted != nil && *d.IsWhitelisted,
		"is_public":              d.IsPublic,
		"isp":                    str(d.ISP),
		"usage_type":             str(d.UsageType),
		"last_reported_at":       str(d.LastReported),
	}, nil
}

// check looks up one address (one request of the daily quota).
func check(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	c.Call.Params = map[string]any{"ip": "127.0.0.1"}
	if _, err := abuseipdbCheck(ctx, c); err != nil {
		return nil, err
	}
	return map[string]any{"detail": "API key ok (one check spent)"}, nil
}
