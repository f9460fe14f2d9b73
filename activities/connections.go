package activities

import (
	"context"
	"sort"

	"github.com/riposte-dev/riposte/activities/abuseipdb"
	"github.com/riposte-dev/riposte/activities/aws"
	"github.com/riposte-dev/riposte/activities/crowdstrike"
	"github.com/riposte-dev/riposte/activities/defender"
	"github.com/riposte-dev/riposte/activities/entra"
	"github.com/riposte-dev/riposte/activities/httpreq"
	"github.com/riposte-dev/riposte/activities/jira"
	"github.com/riposte-dev/riposte/activities/okta"
	"github.com/riposte-dev/riposte/activities/pagerduty"
	"github.com/riposte-dev/riposte/activities/panos"
	"github.com/riposte-dev/riposte/activities/sentinelone"
	"github.com/riposte-dev/riposte/activities/virustotal"
	"github.com/riposte-dev/riposte/internal/connector"
)

// Vendors is the registry of vendor connectors: one line per folder
// activities/<vendor>/ (see docs/adding-a-connector.md). The lab's fakes
// (internal/lab) and docs/actions.md list the same vendors, in this order
// (a test checks).
func Vendors() []connector.Vendor {
	return []connector.Vendor{
		crowdstrike.Connector(),
		defender.Connector(),
		sentinelone.Connector(),
		okta.Connector(),
		entra.Connector(),
		panos.Connector(),
		httpreq.Connector(),
		jira.Connector(),
		pagerduty.Connector(),
		virustotal.Connector(),
		abuseipdb.Connector(),
		aws.Connector(),
	}
}

// connectorDefinitions lists the actions of every vendor connector.
func connectorDefinitions() []Definition {
	var defs []Definition
	for _, v := range Vendors() {
		defs = append(defs, v.Definitions()...)
	}
	return defs
}

// ConnectionTypes lists every connection type the connectors understand.
func ConnectionTypes() []ConnectionType {
	var types []ConnectionType
	for _, v := range Vendors() {
		types = append(types, v.Type)
	}
	return types
}

// LookupConnectionType returns the named connection type.
func LookupConnectionType(name string) (ConnectionType, bool) {
	for _, t := range ConnectionTypes() {
		if t.Name == name {
			return t, true
		}
	}
	return ConnectionType{}, false
}

// CheckConnections runs `riposte connections check`: a harmless read with
// every configured connection, in name order.
func CheckConnections(ctx context.Context, env *Env) []connector.CheckResult {
	names := make([]string, 0, len(env.Connections))
	for n := range env.Connections {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []connector.CheckResult
	for _, n := range names {
		cfg := env.Connections[n]
		var vendor *connector.Vendor
		for _, v := range Vendors() {
			if v.Type.Name == cfg.Type {
				vendor = &v
				break
			}
		}
		if vendor == nil {
			out = append(out, connector.CheckResult{Name: n, Type: cfg.Type, Status: "failed", Detail: "unknown connection type " + cfg.Type})
			continue
		}
		out = append(out, connector.CheckConnection(ctx, env, n, cfg, *vendor))
	}
	return out
}
