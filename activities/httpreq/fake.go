package httpreq

import (
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/labkit"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Generic HTTP echo for http.request: needs `Authorization: Bearer
// lab-http-token`; answers what it received (never the Authorization
// header). /http/status/{code} answers that status. Non-GET requests are
// recorded as state-changing calls.

func echoFault(w http.ResponseWriter, f *labkit.Fault) {
	if f.Status == http.StatusTooManyRequests || f.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", labkit.Seconds(f.RetryAfter))
	}
	labkit.WriteJSON(w, f.Status, map[string]any{"error": http.StatusText(f.Status)})
}

// Routes implements labkit.Fake.
func (fk *Fake) Routes(mux *http.ServeMux) {
	h := func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+echoToken {
			labkit.WriteJSON(w, http.StatusUnauthorized, map[string]any{"error": "unauthorized"})
			return
		}
		path := "/" + r.PathValue("path")
		if code, ok := strings.CutPrefix(path, "/status/"); ok {
			n, err := strconv.Atoi(code)
			if err != nil || n < 200 || n > 599 {
				labkit.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": "bad status"})
				return
			}
			labkit.WriteJSON(w, n, map[string]any{"status": n})
			return
		}
		body, _ := io.ReadAll(r.Body)
		headers := map[string]string{}
		for k := range r.Header {
			if k != "Authorization" {
				headers[k] = r.Header.Get(k)
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			fk.Mu.Lock()
			fk.Record(r, vendorName, r.Method, path, true, http.StatusOK, "")
			fk.Mu.Unlock()
		}
		labkit.WriteJSON(w, http.StatusOK, map[string]any{"method": r.Method, "path": path, "query": r.URL.Query(),
			"headers": headers, "body": string(body)})
	}
	classify := func(r *http.Request) labkit.RouteKind {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return labkit.ReadRoute
		}
		return labkit.MutateRoute
	}
	fk.HandleClassified(mux, vendorName, "/http/{path...}", classify, echoFault, h)
}

// vendorName is the fake's name: the connection type, the key of its
// faults, calls and requests.
const vendorName = "http"

// Lab credentials. They are public test constants, not secrets.
const (
	echoToken = "lab-http-token"
	// EchoConnection is the name of the lab's http connection (http.request
	// needs an explicit connection).
	EchoConnection = "lab-echo"
)

// Fake is the lab's generic HTTP echo fake (see the comment at the top of this file).
type Fake struct {
	labkit.Base
}

// NewFake returns the fake, serving on the lab of k.
func NewFake(k *labkit.Kit) *Fake { return &Fake{Base: labkit.NewBase(k, vendorName)} }

// Connections implements labkit.Fake.
func (fk *Fake) Connections() map[string]connector.Connection {
	return map[string]connector.Connection{
		EchoConnection: {Type: vendorName, BaseURL: fk.URL + "/http",
			Secrets: map[string]connector.SecretRef{"token": labkit.Lit(echoToken)}},
	}
}
