package lab

import (
	"github.com/riposte-dev/riposte/internal/labkit"
	"html/template"
	"net/http"
	"strings"
	"time"
)

// Handler serves the lab page: what the fake vendors hold and every
// state-changing call they received. With ?format=json (or Accept:
// application/json) it serves State as JSON. Everything shown comes from
// requests (detection text can reach it through tickets and pages), so
// the page is rendered with html/template, which escapes it.
func (l *Lab) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		st := l.State()
		if r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json") {
			labkit.WriteJSON(w, http.StatusOK, st)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if err := labPage.Execute(w, st); err != nil {
			l.Logger.Error("rendering lab page", "err", err)
		}
	})
}

var labPage = template.Must(template.New("lab").Funcs(template.FuncMap{
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Local().Format("15:04:05")
	},
	"join": strings.Join,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Riposte lab</title>
<meta http-equiv="refresh" content="5">
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.05em;margin-top:1.6em}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}.muted{color:#888}.bad{color:#a00;font-weight:600}.ok{color:#070}
pre{white-space:pre-wrap;margin:0;max-width:60em}
</style></head><body>
<h1>Riposte lab: fake vendors at <code>{{.URL}}</code></h1>
<p class="muted">Nothing here reaches a real vendor. Refreshes every 5 s; <a href="?format=json">JSON</a>.</p>

<h2>Contained hosts</h2>
{{if .ContainedHosts}}<table><tr><th>vendor</th><th>host</th><th>id</th><th>since</th></tr>
{{range .ContainedHosts}}<tr><td>{{.Vendor}}</td><td class="bad">{{.Hostname}}</td><td><code>{{.ID}}</code></td><td>{{ts .Since}}</td></tr>{{end}}
</table>{{else}}<p class="muted">none</p>{{end}}

<h2>Users</h2>
<table><tr><th>login</th><th>Okta</th><th>Okta sessions</th><th>Entra</th></tr>
{{range .Users}}<tr><td>{{.Login}}</td><td{{if eq .Okta "SUSPENDED"}} class="bad"{{end}}>{{.Okta}}</td><td>{{.OktaSessions}}</td>
<td>{{if .EntraEnabled}}<span class="ok">enabled</span>{{else}}<span class="bad">disabled</span>{{end}}</td></tr>{{end}}
</table>
{{if .RevokedSessions}}<p>Sessions revoked: {{range .RevokedSessions}}{{.User}} ({{.Vendor}}, {{ts .Since}}) {{end}}</p>{{end}}

<h2>Blocked IPs (PAN-OS)</h2>
{{if .BlockedIPs}}<table><tr><th>ip</th><th>tags</th><th>since</th></tr>
{{range .BlockedIPs}}<tr><td class="bad">{{.IP}}</td><td>{{join .Tags ", "}}</td><td>{{ts .Since}}</td></tr>{{end}}
</table>{{else}}<p class="muted">none</p>{{end}}

<h2>Tickets (Jira)</h2>
{{if .Tickets}}<table><tr><th>key</th><th>type</th><th>summary / description</th><th>labels</th><th>comments</th></tr>
{{range .Tickets}}<tr><td>{{.Key}}</td><td>{{.Type}}</td><td><b>{{.Summary}}</b><pre>{{.Description}}</pre></td><td>{{join .Labels ", "}}</td>
<td>{{range .Comments}}<pre>{{.Body}}</pre>{{end}}</td></tr>{{end}}
</table>{{else}}<p class="muted">none</p>{{end}}

<h2>Pages (PagerDuty)</h2>
{{if .Pages}}<table><tr><th>dedup key</th><th>severity</th><th>status</th><th>summary</th><th>source</th><th>events</th></tr>
{{range .Pages}}<tr><td><code>{{.DedupKey}}</code></td><td>{{.Severity}}</td><td>{{.Status}}</td><td>{{.Summary}}</td><td>{{.Source}}</td><td>{{.Events}}</td></tr>{{end}}
</table>{{else}}<p class="muted">none</p>{{end}}

<h2>Hosts</h2>
<table><tr><th>host</th><th>os</th><th>CrowdStrike</th><th>Defender</th><th>SentinelOne</th></tr>
{{range .Hosts}}<tr><td>{{.Hostname}}</td><td>{{.OS}}</td><td>{{.CrowdStrike}}</td><td>{{.Defender}}</td><td>{{.SentinelOne}}</td></tr>{{end}}
</table>

<h2>State-changing calls</h2>
{{if .Calls}}<table><tr><th>#</th><th>time</th><th>vendor</th><th>op</th><th>target</th><th>changed</th><th>status</th><th>idempotency key</th><th>note</th></tr>
{{range .Calls}}<tr><td>{{.Seq}}</td><td>{{ts .Time}}</td><td>{{.Vendor}}</td><td>{{.Op}}</td><td>{{.Target}}</td>
<td>{{if .Changed}}<span class="bad">yes</span>{{else}}<span class="muted">no</span>{{end}}</td><td>{{.Status}}</td><td><code>{{.IdempotencyKey}}</code></td><td>{{.Note}}</td></tr>{{end}}
</table>{{else}}<p class="muted">none yet</p>{{end}}
</body></html>
`))
