package connector

import (
	"encoding/json"
	"net/url"
)

// Microsoft plumbing shared by the Entra ID (Graph) and Defender for
// Endpoint connectors: the Entra app registration's connection fields, its
// client-credentials grant and the {"error":{"code","message"}} shape.

// EntraAppType is a connection type authenticated as an Entra app
// registration with client credentials; scope is the default scope.
func EntraAppType(name, desc, baseURL, scope string) ConnectionType {
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

// UseEntraApp sets up the client-credentials grant shared by Graph and
// Defender for Endpoint.
func (c *Conn) UseEntraApp() error {
	tokenURL := c.Option("token_url")
	if tokenURL == "" {
		tenant, err := c.RequireOption("tenant_id")
		if err != nil {
			return err
		}
		tokenURL = "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
	}
	id, secret, err := c.ClientCredentials()
	if err != nil {
		return err
	}
	c.UseClientCredentials(tokenURL, url.Values{"client_id": {id}, "client_secret": {secret}, "scope": {c.Option("scope")}})
	return nil
}

// MSError reads the {"error":{"code","message"}} shape of Graph and
// Defender.
func MSError(body []byte) (code, msg string) {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	if e.Error.Code != "" && e.Error.Message != "" {
		return e.Error.Code, e.Error.Code + ": " + e.Error.Message
	}
	return e.Error.Code, e.Error.Code + e.Error.Message
}

// MSStatusError is StatusError with the message of a Graph or Defender
// error body (MSError); notFound as in StatusError.
func (c *Conn) MSStatusError(r *Response, notFound string) error {
	_, msg := MSError(r.Body)
	return c.StatusError(r, msg, notFound)
}
