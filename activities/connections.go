package activities

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/riposte-dev/riposte/internal/catalog"
)

// connectorDefinitions lists the vendor connectors, one file each.
func connectorDefinitions() []Definition {
	var defs []Definition
	defs = append(defs, crowdstrikeDefinitions()...)
	defs = append(defs, defenderDefinitions()...)
	defs = append(defs, sentineloneDefinitions()...)
	defs = append(defs, oktaDefinitions()...)
	defs = append(defs, entraDefinitions()...)
	defs = append(defs, panosDefinitions()...)
	defs = append(defs, httpDefinitions()...)
	defs = append(defs, jiraDefinitions()...)
	defs = append(defs, pagerdutyDefinitions()...)
	defs = append(defs, virustotalDefinitions()...)
	defs = append(defs, abuseipdbDefinitions()...)
	return defs
}

// ConnectionType describes what a connection of one type needs in
// riposte.yaml. The config loader validates against it; handlers read
// defaults from it.
type ConnectionType struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// DefaultBaseURL is used when base_url is omitted; "" = base_url required.
	DefaultBaseURL string            `json:"default_base_url,omitempty"`
	Fields         []ConnectionField `json:"fields"`
}

// ConnectionField is one key of a connection besides type and base_url.
type ConnectionField struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Secret fields must be secret references ({env: NAME} or {file: PATH});
	// the others are plain strings where ${VAR} is interpolated.
	Secret   bool `json:"secret,omitempty"`
	Required bool `json:"required,omitempty"`
	// RequiredUnless makes a required field optional when the named field
	// is set (defender/entra: tenant_id unless token_url).
	RequiredUnless string `json:"required_unless,omitempty"`
	URL            bool   `json:"url,omitempty"`
	Default        string `json:"default,omitempty"`
	Example        string `json:"example,omitempty"`
}

// Field returns the named field of the type.
func (t ConnectionType) Field(name string) (ConnectionField, bool) {
	for _, f := range t.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return ConnectionField{}, false
}

// ConnectionTypes lists every connection type the connectors understand.
func ConnectionTypes() []ConnectionType {
	entraLike := func(name, desc, baseURL, scope string) ConnectionType {
		return ConnectionType{
			Name: name, Description: desc, DefaultBaseURL: baseURL,
			Fields: []ConnectionField{
				{Name: "tenant_id", Required: true, RequiredUnless: "token_url", Description: "Entra tenant (directory) id.", Example: "${AZURE_TENANT_ID}"},
				{Name: "client_id", Required: true, Description: "Application (client) id of the app registration.", Example: "${AZURE_CLIENT_ID}"},
				{Name: "client_secret", Secret: true, Required: true, Description: "Client secret of the app registration.", Example: "{env: AZURE_CLIENT_SECRET}"},
				{Name: "token_url", URL: true, Description: "OAuth2 token endpoint; default https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token."},
				{Name: "scope", Default: scope, Description: "OAuth2 scope requested with client credentials."},
			},
		}
	}
	return []ConnectionType{
		{
			Name: "crowdstrike", Description: "CrowdStrike Falcon API (OAuth2 client credentials). base_url is per cloud: https://api.crowdstrike.com, https://api.us-2.crowdstrike.com, https://api.eu-1.crowdstrike.com, https://api.laggar.gcw.crowdstrike.com.",
			Fields: []ConnectionField{
				{Name: "client_id", Required: true, Description: "API client id (scope Hosts: read + write).", Example: "${CS_CLIENT_ID}"},
				{Name: "client_secret", Secret: true, Required: true, Description: "API client secret.", Example: "{env: CS_CLIENT_SECRET}"},
			},
		},
		entraLike("defender", "Microsoft Defender for Endpoint API (Entra app with Machine.Isolate and Machine.Read.All).",
			"https://api.securitycenter.microsoft.com", "https://api.securitycenter.microsoft.com/.default"),
		{
			Name: "sentinelone", Description: "SentinelOne management console API v2.1 (base_url is the console, e.g. https://usea1.sentinelone.net).",
			Fields: []ConnectionField{
				{Name: "api_token", Secret: true, Required: true, Description: "API token of a service user.", Example: "{env: S1_API_TOKEN}"},
			},
		},
		{
			Name: "okta", Description: "Okta management API (base_url is the org, e.g. https://example.okta.com).",
			Fields: []ConnectionField{
				{Name: "api_token", Secret: true, Required: true, Description: "Okta API token (SSWS).", Example: "{env: OKTA_API_TOKEN}"},
			},
		},
		entraLike("entra", "Microsoft Graph for Entra ID users (app with User.ReadWrite.All, User.RevokeSessions.All).",
			"https://graph.microsoft.com", "https://graph.microsoft.com/.default"),
		{
			Name: "panos", Description: "Palo Alto Networks PAN-OS XML API (firewall or Panorama management address).",
			Fields: []ConnectionField{
				{Name: "api_key", Secret: true, Required: true, Description: "XML API key (type=keygen).", Example: "{file: /run/secrets/panos_api_key}"},
				{Name: "tag", Default: "riposte-blocked", Description: "Tag registered on blocked IPs; a dynamic address group matching it must be used in a deny rule."},
				{Name: "vsys", Default: "vsys1", Description: "Virtual system the User-ID registrations go to."},
			},
		},
		{
			Name: "http", Description: "Any HTTP API, for http.request. Requests may only go below base_url.",
			Fields: []ConnectionField{
				{Name: "token", Secret: true, Description: "Credential sent in auth_header (optional).", Example: "{env: TICKETS_TOKEN}"},
				{Name: "auth_header", Default: "Authorization", Description: "Header that carries the token."},
				{Name: "auth_scheme", Default: "Bearer", Description: "Prefix of the token in auth_header; \"none\" sends the bare token."},
			},
		},
		{
			Name: "jira", Description: "Jira Cloud REST API v3 (base_url is the site, e.g. https://example.atlassian.net).",
			Fields: []ConnectionField{
				{Name: "email", Required: true, Description: "Atlassian account email the API token belongs to.", Example: "soc@example.com"},
				{Name: "api_token", Secret: true, Required: true, Description: "Atlassian API token.", Example: "{file: /run/secrets/jira_token}"},
				{Name: "project", Description: "Default project key for jira.create_issue.", Example: "SEC"},
			},
		},
		{
			Name: "pagerduty", Description: "PagerDuty Events API v2.", DefaultBaseURL: "https://events.pagerduty.com",
			Fields: []ConnectionField{
				{Name: "routing_key", Secret: true, Required: true, Description: "Integration (routing) key of an Events API v2 integration.", Example: "{env: PD_ROUTING_KEY}"},
			},
		},
		{
			Name: "virustotal", Description: "VirusTotal API v3.", DefaultBaseURL: "https://www.virustotal.com",
			Fields: []ConnectionField{
				{Name: "api_key", Secret: true, Required: true, Description: "VirusTotal API key.", Example: "{env: VT_API_KEY}"},
			},
		},
		{
			Name: "abuseipdb", Description: "AbuseIPDB API v2.", DefaultBaseURL: "https://api.abuseipdb.com",
			Fields: []ConnectionField{
				{Name: "api_key", Secret: true, Required: true, Description: "AbuseIPDB API key.", Example: "{env: ABUSEIPDB_API_KEY}"},
			},
		},
	}
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

// --- secrets ---

// IsZero reports whether the reference points nowhere.
func (r SecretRef) IsZero() bool { return r.Env == "" && r.File == "" && r.Lab == "" }

// String describes the reference, never the value.
func (r SecretRef) String() string {
	switch {
	case r.Env != "":
		return "env:" + r.Env
	case r.File != "":
		return "file:" + r.File
	case r.Lab != "":
		return "lab:(literal)"
	}
	return "(none)"
}

// GoString keeps %#v from printing a lab literal.
func (r SecretRef) GoString() string { return "activities.SecretRef(" + r.String() + ")" }

// LogValue keeps slog from printing a lab literal.
func (r SecretRef) LogValue() slog.Value { return slog.StringValue(r.String()) }

// MarshalJSON writes the reference only; a lab literal is hidden.
func (r SecretRef) MarshalJSON() ([]byte, error) {
	m := map[string]string{}
	switch {
	case r.Env != "":
		m["env"] = r.Env
	case r.File != "":
		m["file"] = r.File
	case r.Lab != "":
		m["lab"] = "(hidden)"
	}
	return json.Marshal(m)
}

// ErrSecretUnavailable is wrapped by Resolve's errors.
var ErrSecretUnavailable = errors.New("secret unavailable")

// Resolve reads the secret value now. Errors name the reference, never a
// value.
func (r SecretRef) Resolve() (string, error) {
	switch {
	case r.Env != "":
		v, ok := os.LookupEnv(r.Env)
		if !ok {
			return "", fmt.Errorf("%w: env var %s is not set", ErrSecretUnavailable, r.Env)
		}
		if strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("%w: env var %s is empty", ErrSecretUnavailable, r.Env)
		}
		return strings.TrimSpace(v), nil
	case r.File != "":
		b, err := os.ReadFile(r.File)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("%w: file %s does not exist", ErrSecretUnavailable, r.File)
			}
			return "", fmt.Errorf("%w: reading file %s: %v", ErrSecretUnavailable, r.File, errors.Unwrap(err))
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("%w: file %s is empty", ErrSecretUnavailable, r.File)
		}
		return v, nil
	case r.Lab != "":
		return r.Lab, nil
	}
	return "", fmt.Errorf("%w: no env var or file given", ErrSecretUnavailable)
}

// --- picking a connection for a call ---

// connectionParam is the optional param every connector takes.
func connectionParam(typ string) catalog.Param {
	return catalog.Param{
		Name: "connection", Type: catalog.TypeString,
		Description: fmt.Sprintf("Name of the %s connection in riposte.yaml; default: the connection named %q, else the only %s connection.", typ, typ, typ),
	}
}

// pickConnection finds the connection a call should use: the `connection`
// param, else the connection named like the type, else the only one of
// that type. Every failure is non-retryable: config does not fix itself.
func pickConnection(env *Env, call Call, typ string, required bool) (string, Connection, error) {
	conns := env.Connections
	if v, ok := call.Params["connection"]; ok && v != nil && fmt.Sprint(v) != "" {
		name, ok := v.(string)
		if !ok {
			return "", Connection{}, invalidParam("connection must be a string, got %T", v)
		}
		c, ok := conns[name]
		if !ok {
			return "", Connection{}, newFailure(kindNoConnection, fmt.Sprintf("connection %q is not configured%s", name, listConns(conns, typ)))
		}
		if c.Type != typ {
			return "", Connection{}, newFailure(kindNoConnection, fmt.Sprintf("connection %q has type %s; %s needs a %s connection", name, c.Type, call.Action, typ))
		}
		return name, c, nil
	}
	if required {
		return "", Connection{}, invalidParam("%s needs the connection param: the name of a %s connection in riposte.yaml%s", call.Action, typ, listConns(conns, typ))
	}
	if c, ok := conns[typ]; ok && c.Type == typ {
		return typ, c, nil
	}
	var names []string
	for n, c := range conns {
		if c.Type == typ {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	switch len(names) {
	case 0:
		return "", Connection{}, newFailure(kindNoConnection, fmt.Sprintf("no %s connection is configured; add one under connections: in riposte.yaml (type: %s)", typ, typ))
	case 1:
		return names[0], conns[names[0]], nil
	}
	return "", Connection{}, newFailure(kindNoConnection, fmt.Sprintf("%d %s connections are configured (%s) and none is named %q; set the step's connection param", len(names), typ, strings.Join(names, ", "), typ))
}

func listConns(conns map[string]Connection, typ string) string {
	var names []string
	for n, c := range conns {
		if c.Type == typ {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return fmt.Sprintf(" (no %s connection is configured)", typ)
	}
	sort.Strings(names)
	return fmt.Sprintf(" (%s connections: %s)", typ, strings.Join(names, ", "))
}
