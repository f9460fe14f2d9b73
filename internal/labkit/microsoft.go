package labkit

import (
	"fmt"
	"net/http"
	"time"
)

// The Microsoft identity platform's client-credentials token endpoint,
// shared by the Defender for Endpoint and Microsoft Graph (Entra ID) fakes
// as the real one is: each fake registers its app and the scopes it
// accepts; the token's audience is the fake that checks it.

// Login is the vendor name of the token endpoint (faults, requests).
const Login = "login"

// MSTenant is the lab's Entra tenant id.
const MSTenant = "lab-tenant"

// RegisterMicrosoftApp lets an app registration (client id and secret)
// sign in at the lab's token endpoint.
func (k *Kit) RegisterMicrosoftApp(clientID, secret string) {
	k.Mu.Lock()
	defer k.Mu.Unlock()
	k.msApps[clientID] = secret
}

// RegisterMicrosoftScope makes tokens asked for scope carry audience.
func (k *Kit) RegisterMicrosoftScope(scope, audience string) {
	k.Mu.Lock()
	defer k.Mu.Unlock()
	k.msScopes[scope] = audience
}

// MicrosoftTokenURL is the lab tenant's token endpoint.
func (k *Kit) MicrosoftTokenURL() string { return k.URL + "/login/" + MSTenant + "/oauth2/v2.0/token" }

// MSError writes Microsoft's error body {"error":{"code","message"}}.
func MSError(w http.ResponseWriter, status int, code, msg string) {
	WriteJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

// MSFault answers an injected fault as Microsoft's APIs do.
func MSFault(w http.ResponseWriter, f *Fault) {
	switch {
	case f.Status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", Seconds(f.RetryAfter))
		MSError(w, f.Status, "TooManyRequests", "Rate limit is exceeded. Try again later.")
	case f.Status == http.StatusUnauthorized:
		MSError(w, f.Status, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
	case f.Status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", Seconds(f.RetryAfter))
		MSError(w, f.Status, "ServiceUnavailable", "Service is temporarily unavailable.")
	default:
		MSError(w, f.Status, "InternalServerError", http.StatusText(f.Status))
	}
}

func loginFault(w http.ResponseWriter, f *Fault) {
	if f.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", Seconds(f.RetryAfter))
	}
	WriteJSON(w, f.Status, map[string]any{"error": "temporarily_unavailable", "error_description": "AADSTS90033: injected fault"})
}

// MicrosoftLoginRoutes serves the token endpoint.
func (k *Kit) MicrosoftLoginRoutes(mux *http.ServeMux) {
	k.Handle(mux, Login, "POST /login/{tenant}/oauth2/v2.0/token", TokenRoute, loginFault, func(w http.ResponseWriter, r *http.Request) {
		fail := func(status int, code, desc string) {
			WriteJSON(w, status, map[string]any{"error": code, "error_description": desc})
		}
		if r.PathValue("tenant") != MSTenant {
			fail(http.StatusBadRequest, "invalid_request", fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", r.PathValue("tenant")))
			return
		}
		if !IsForm(r) || r.ParseForm() != nil {
			fail(http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
			return
		}
		f := r.PostForm
		if f.Get("grant_type") != "client_credentials" {
			fail(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
			return
		}
		k.Mu.Lock()
		secret, ok := k.msApps[f.Get("client_id")]
		aud, scopeOK := k.msScopes[f.Get("scope")]
		k.Mu.Unlock()
		if !ok {
			fail(http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory.", f.Get("client_id")))
			return
		}
		if f.Get("client_secret") != secret {
			fail(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
			return
		}
		if !scopeOK {
			fail(http.StatusBadRequest, "invalid_scope", fmt.Sprintf("AADSTS1002012: The provided value for scope %s is not valid.", f.Get("scope")))
			return
		}
		WriteJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
			"access_token": k.IssueToken(aud, time.Hour)})
	})
}
