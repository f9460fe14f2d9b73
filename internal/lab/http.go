package lab

import (
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Generic HTTP echo for http.request: needs `Authorization: Bearer
// lab-http-token`; answers what it received (never the Authorization
// header). /http/status/{code} answers that status. Non-GET requests are
// recorded as state-changing calls.

func echoFault(w http.ResponseWriter, f *Fault) {
	if f.Status == http.StatusTooManyRequests || f.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", seconds(f.RetryAfter))
	}
	writeJSON(w, f.Status, map[string]any{"error": http.StatusText(f.Status)})
}

func (l *Lab) echoRoutes(mux *http.ServeMux) {
	h := func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+echoToken {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "unauthorized"})
			return
		}
		path := "/" + r.PathValue("path")
		if code, ok := strings.CutPrefix(path, "/status/"); ok {
			n, err := strconv.Atoi(code)
			if err != nil || n < 200 || n > 599 {
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": "bad status"})
				return
			}
			writeJSON(w, n, map[string]any{"status": n})
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
			l.mu.Lock()
			l.record(r, HTTPEcho, r.Method, path, true, http.StatusOK, "")
			l.mu.Unlock()
		}
		writeJSON(w, http.StatusOK, map[string]any{"method": r.Method, "path": path, "query": r.URL.Query(),
			"headers": headers, "body": string(body)})
	}
	classify := func(r *http.Request) routeKind {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return readRoute
		}
		return mutateRoute
	}
	l.handleClassified(mux, HTTPEcho, "/http/{path...}", classify, echoFault, h)
}
