package activities

import (
	"github.com/riposte-dev/riposte/activities/abuseipdb"
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

// vendors is the registry of vendor connectors: one line per folder
// activities/<vendor>/ (see docs/adding-a-connector.md).
func vendors() []connector.Vendor {
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
	}
}

// connectorDefinitions lists the actions of every vendor connector.
func connectorDefinitions() []Definition {
	var defs []Definition
	for _, v := range vendors() {
		defs = append(defs, v.Definitions()...)
	}
	return defs
}

// ConnectionTypes lists every connection type the connectors understand.
func ConnectionTypes() []ConnectionType {
	var types []ConnectionType
	for _, v := range vendors() {
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
