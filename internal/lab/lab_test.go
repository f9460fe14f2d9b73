package lab

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/labkit"
)

func startLab(t *testing.T) *Lab {
	t.Helper()
	l, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	credsOnce.Do(func() { readCreds(l) })
	return l
}

// The lab credentials, read from the fakes' connections: each fake owns
// its own (activities/<vendor>/fake.go).
var (
	credsOnce                                          sync.Once
	csClientID, csClientSecret, defClientID, defSecret string
	graphClientID, graphSecret, jiraEmail, jiraToken   string
	oktaToken, s1Token, panosKey, pdRoutingKey, vtKey  string
	abuseKey, echoToken                                string
	msTenant                                           = labkit.MSTenant
)

func readCreds(l *Lab) {
	c := l.Connections()
	sec := func(conn, key string) string { return c[conn].Secrets[key].Lab }
	csClientID, csClientSecret = c[CrowdStrike].Options["client_id"], sec(CrowdStrike, "client_secret")
	defClientID, defSecret = c[Defender].Options["client_id"], sec(Defender, "client_secret")
	graphClientID, graphSecret = c[Entra].Options["client_id"], sec(Entra, "client_secret")
	jiraEmail, jiraToken = c[Jira].Options["email"], sec(Jira, "api_token")
	oktaToken, s1Token, panosKey = sec(Okta, "api_token"), sec(SentinelOne, "api_token"), sec(PANOS, "api_key")
	pdRoutingKey, vtKey, abuseKey = sec(PagerDuty, "routing_key"), sec(VirusTotal, "api_key"), sec(AbuseIPDB, "api_key")
	echoToken = sec(EchoConnection, "token")
}

type resp struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, method, u string, header map[string]string, body string) resp {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err) // may run in a goroutine: no Fatal
		return resp{}
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, r.Header, string(b)}
}

const (
	ctJSON = "application/json"
	ctForm = "application/x-www-form-urlencoded"
)

func token(t *testing.T, l *Lab, vendor string) string {
	t.Helper()
	var r resp
	switch vendor {
	case CrowdStrike:
		r = send(t, "POST", l.URL()+"/crowdstrike/oauth2/token", map[string]string{"Content-Type": ctForm},
			url.Values{"client_id": {csClientID}, "client_secret": {csClientSecret}}.Encode())
	case Defender, Entra:
		id, sec, scope := defClientID, defSecret, "https://api.securitycenter.microsoft.com/.default"
		if vendor == Entra {
			id, sec, scope = graphClientID, graphSecret, "https://graph.microsoft.com/.default"
		}
		r = send(t, "POST", l.URL()+"/login/"+msTenant+"/oauth2/v2.0/token", map[string]string{"Content-Type": ctForm},
			url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {sec}, "scope": {scope}}.Encode())
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(r.body), &tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("no token for %s: %d %s", vendor, r.status, r.body)
	}
	return tr.AccessToken
}

func TestConnectionsMatchConnectionTypes(t *testing.T) {
	l := startLab(t)
	conns := l.Connections()
	if len(conns) != len(activities.ConnectionTypes()) {
		t.Errorf("%d lab connections for %d connection types", len(conns), len(activities.ConnectionTypes()))
	}
	for name, c := range conns {
		typ, ok := activities.LookupConnectionType(c.Type)
		if !ok {
			t.Errorf("%s: unknown type %s", name, c.Type)
			continue
		}
		if typ.BaseURLOptional {
			for _, f := range typ.Fields {
				if f.URL && c.Options[f.Name] != "" && !strings.HasPrefix(c.Options[f.Name], l.URL()+"/") {
					t.Errorf("%s: %s %s is not the lab", name, f.Name, c.Options[f.Name])
				}
			}
		} else if !strings.HasPrefix(c.BaseURL, l.URL()+"/") {
			t.Errorf("%s: base URL %s is not the lab", name, c.BaseURL)
		}
		for _, f := range typ.Fields {
			if !f.Required {
				continue
			}
			if f.Secret && c.Secrets[f.Name].Lab == "" {
				t.Errorf("%s: secret %s missing", name, f.Name)
			}
			if !f.Secret && c.Options[f.Name] == "" && (f.RequiredUnless == "" || c.Options[f.RequiredUnless] == "") {
				t.Errorf("%s: option %s missing", name, f.Name)
			}
		}
	}
}

// The fakes refuse what the vendors refuse; each case is a request a
// sloppy connector could send.
func TestRequestShapes(t *testing.T) {
	l := startLab(t)
	cs, def, graph := token(t, l, CrowdStrike), token(t, l, Defender), token(t, l, Entra)
	u := l.URL()
	// The fakes' ids of the first seeded host (fin-ws-042).
	aid := labkit.StableID("cs:fin-ws-042", 32)
	mid := labkit.StableID("def:fin-ws-042", 40)
	jiraAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(jiraEmail+":"+jiraToken))
	for _, tt := range []struct {
		name, method, url string
		header            map[string]string
		body              string
		status            int
		contains          string
	}{
		{"cs token as JSON", "POST", u + "/crowdstrike/oauth2/token", map[string]string{"Content-Type": ctJSON}, `{"client_id":"x"}`, 400, "x-www-form-urlencoded"},
		{"cs token bad secret", "POST", u + "/crowdstrike/oauth2/token", map[string]string{"Content-Type": ctForm}, "client_id=" + csClientID + "&client_secret=nope", 403, "authorization failed"},
		{"cs no bearer", "GET", u + "/crowdstrike/devices/queries/devices/v1?filter=hostname:'fin-ws-042'", nil, "", 401, "invalid bearer token"},
		{"cs graph token", "GET", u + "/crowdstrike/devices/queries/devices/v1", map[string]string{"Authorization": "Bearer " + graph}, "", 401, "invalid bearer token"},
		{"cs bad fql", "GET", u + "/crowdstrike/devices/queries/devices/v1?filter=hostname:fin-ws-042", map[string]string{"Authorization": "Bearer " + cs}, "", 400, "Invalid filter"},
		{"cs action without name", "POST", u + "/crowdstrike/devices/entities/devices-actions/v2", map[string]string{"Authorization": "Bearer " + cs, "Content-Type": ctJSON}, `{"ids":["` + aid + `"]}`, 400, "action_name is required"},
		{"cs action without ids", "POST", u + "/crowdstrike/devices/entities/devices-actions/v2?action_name=contain", map[string]string{"Authorization": "Bearer " + cs, "Content-Type": ctJSON}, `{"device_ids":["` + aid + `"]}`, 400, "ids is required"},
		{"cs action as form", "POST", u + "/crowdstrike/devices/entities/devices-actions/v2?action_name=contain", map[string]string{"Authorization": "Bearer " + cs, "Content-Type": ctForm}, "ids=" + aid, 400, "application/json"},
		{"ms wrong scope", "POST", u + "/login/" + msTenant + "/oauth2/v2.0/token", map[string]string{"Content-Type": ctForm}, "grant_type=client_credentials&client_id=" + defClientID + "&client_secret=" + defSecret + "&scope=https://management.azure.com/.default", 400, "invalid_scope"},
		{"ms bad secret", "POST", u + "/login/" + msTenant + "/oauth2/v2.0/token", map[string]string{"Content-Type": ctForm}, "grant_type=client_credentials&client_id=" + defClientID + "&client_secret=x&scope=https://graph.microsoft.com/.default", 401, "AADSTS7000215"},
		{"defender with graph token", "GET", u + "/defender/api/machines", map[string]string{"Authorization": "Bearer " + graph}, "", 401, "denied"},
		{"defender lowercase comment", "POST", u + "/defender/api/machines/" + mid + "/isolate", map[string]string{"Authorization": "Bearer " + def, "Content-Type": ctJSON}, `{"comment":"x","IsolationType":"Full"}`, 400, "case-sensitive"},
		{"defender no comment", "POST", u + "/defender/api/machines/" + mid + "/isolate", map[string]string{"Authorization": "Bearer " + def, "Content-Type": ctJSON}, `{"IsolationType":"Full"}`, 400, "Comment is required"},
		{"defender bad type", "POST", u + "/defender/api/machines/" + mid + "/isolate", map[string]string{"Authorization": "Bearer " + def, "Content-Type": ctJSON}, `{"Comment":"x","IsolationType":"full"}`, 400, "Full or Selective"},
		{"defender no content type", "POST", u + "/defender/api/machines/" + mid + "/isolate", map[string]string{"Authorization": "Bearer " + def}, `{"Comment":"x"}`, 415, "application/json"},
		{"defender bad filter", "GET", u + "/defender/api/machines?$filter=" + url.QueryEscape("contains(computerDnsName,'x')"), map[string]string{"Authorization": "Bearer " + def}, "", 400, "Invalid filter"},
		{"s1 bearer instead of ApiToken", "GET", u + "/sentinelone/web/api/v2.1/agents", map[string]string{"Authorization": "Bearer " + s1Token}, "", 401, "Authentication Failed"},
		{"s1 action without filter", "POST", u + "/sentinelone/web/api/v2.1/agents/actions/disconnect", map[string]string{"Authorization": "ApiToken " + s1Token, "Content-Type": ctJSON}, `{"data":{}}`, 400, "filter"},
		{"s1 unknown id: affected 0 in a 200", "POST", u + "/sentinelone/web/api/v2.1/agents/actions/disconnect", map[string]string{"Authorization": "ApiToken " + s1Token, "Content-Type": ctJSON}, `{"filter":{"ids":["nope"]}}`, 200, `"affected":0`},
		{"okta bearer instead of SSWS", "GET", u + "/okta/api/v1/users/jdoe@example.com", map[string]string{"Authorization": "Bearer " + oktaToken}, "", 401, "E0000011"},
		{"okta suspend staged", "POST", u + "/okta/api/v1/users/contractor@example.com/lifecycle/suspend", map[string]string{"Authorization": "SSWS " + oktaToken}, "", 400, "E0000001"},
		{"okta unknown user", "GET", u + "/okta/api/v1/users/ghost@example.com", map[string]string{"Authorization": "SSWS " + oktaToken}, "", 404, "E0000007"},
		{"graph with defender token", "GET", u + "/graph/v1.0/users/jdoe@example.com", map[string]string{"Authorization": "Bearer " + def}, "", 401, "Invalid audience"},
		{"graph patch string bool", "PATCH", u + "/graph/v1.0/users/jdoe@example.com", map[string]string{"Authorization": "Bearer " + graph, "Content-Type": ctJSON}, `{"accountEnabled":"false"}`, 400, "accountEnabled"},
		{"graph patch unknown property", "PATCH", u + "/graph/v1.0/users/jdoe@example.com", map[string]string{"Authorization": "Bearer " + graph, "Content-Type": ctJSON}, `{"enabled":false}`, 400, "does not exist"},
		{"panos bad key", "POST", u + "/panos/api/", map[string]string{"X-PAN-KEY": "nope", "Content-Type": ctForm}, "type=op&cmd=<show/>", 403, "Invalid Credential"},
		{"panos broken xml: error in a 200", "POST", u + "/panos/api/", map[string]string{"X-PAN-KEY": panosKey, "Content-Type": ctForm}, url.Values{"type": {"user-id"}, "cmd": {"<uid-message><payload>"}}.Encode(), 200, `status="error"`},
		{"panos non-canonical network: error in a 200", "POST", u + "/panos/api/", map[string]string{"X-PAN-KEY": panosKey, "Content-Type": ctForm}, url.Values{"type": {"user-id"}, "cmd": {`<uid-message><version>2.0</version><type>update</type><payload><register><entry ip="10.0.0.1/8"><tag><member>t</member></tag></entry></register></payload></uid-message>`}}.Encode(), 200, "invalid ip"},
		{"jira removed search", "GET", u + "/jira/rest/api/3/search?jql=labels%3Dx", map[string]string{"Authorization": jiraAuth}, "", 410, "search/jql"},
		{"jira string description", "POST", u + "/jira/rest/api/3/issue", map[string]string{"Authorization": jiraAuth, "Content-Type": ctJSON}, `{"fields":{"project":{"key":"SEC"},"summary":"s","issuetype":{"name":"Task"},"description":"plain"}}`, 400, "Atlassian Document"},
		{"jira label with space", "POST", u + "/jira/rest/api/3/issue", map[string]string{"Authorization": jiraAuth, "Content-Type": ctJSON}, `{"fields":{"project":{"key":"SEC"},"summary":"s","issuetype":{"name":"Task"},"labels":["a b"]}}`, 400, "contains spaces"},
		{"jira newline summary", "POST", u + "/jira/rest/api/3/issue", map[string]string{"Authorization": jiraAuth, "Content-Type": ctJSON}, `{"fields":{"project":{"key":"SEC"},"summary":"a\nb","issuetype":{"name":"Task"}}}`, 400, "newline"},
		{"jira empty text node", "POST", u + "/jira/rest/api/3/issue", map[string]string{"Authorization": jiraAuth, "Content-Type": ctJSON}, `{"fields":{"project":{"key":"SEC"},"summary":"s","issuetype":{"name":"Task"},"description":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":""}]}]}}}`, 400, "Atlassian Document"},
		{"jira no auth", "POST", u + "/jira/rest/api/3/issue", map[string]string{"Content-Type": ctJSON}, `{}`, 401, "authenticated"},
		{"pd short routing key", "POST", u + "/pagerduty/v2/enqueue", map[string]string{"Content-Type": ctJSON}, `{"routing_key":"abc","event_action":"trigger"}`, 400, "should be 32 characters"},
		{"pd bad severity", "POST", u + "/pagerduty/v2/enqueue", map[string]string{"Content-Type": ctJSON}, `{"routing_key":"` + pdRoutingKey + `","event_action":"trigger","payload":{"summary":"s","source":"x","severity":"high"}}`, 400, "severity"},
		{"pd no source", "POST", u + "/pagerduty/v2/enqueue", map[string]string{"Content-Type": ctJSON}, `{"routing_key":"` + pdRoutingKey + `","event_action":"trigger","payload":{"summary":"s","severity":"info"}}`, 400, "payload.source"},
		{"vt no key", "GET", u + "/virustotal/api/v3/ip_addresses/8.8.8.8", nil, "", 401, "AuthenticationRequiredError"},
		{"vt unknown: NotFoundError", "GET", u + "/virustotal/api/v3/domains/unknown.example.org", map[string]string{"x-apikey": vtKey}, "", 404, "NotFoundError"},
		// Known but not analysed by any engine: every count 0, no results (labkit.Unanalysed).
		{"vt unanalysed: all counts 0", "GET", u + "/virustotal/api/v3/ip_addresses/" + labkit.Unanalysed.IP, map[string]string{"x-apikey": vtKey}, "", 200, `"last_analysis_results":{},"last_analysis_stats":{"harmless":0,"malicious":0,"suspicious":0,"timeout":0,"undetected":0}`},
		{"abuseipdb error without Accept is HTML", "GET", u + "/abuseipdb/api/v2/check?ipAddress=nope", map[string]string{"Key": abuseKey}, "", 422, "<!DOCTYPE html>"},
		{"abuseipdb error with Accept is JSON", "GET", u + "/abuseipdb/api/v2/check?ipAddress=nope", map[string]string{"Key": abuseKey, "Accept": ctJSON}, "", 422, `"parameter":"ipAddress"`},
		{"abuseipdb max age", "GET", u + "/abuseipdb/api/v2/check?ipAddress=8.8.8.8&maxAgeInDays=999", map[string]string{"Key": abuseKey, "Accept": ctJSON}, "", 422, "maxAgeInDays"},
		{"echo without token", "GET", u + "/http/x", nil, "", 401, "unauthorized"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, tt.method, tt.url, tt.header, tt.body)
			if r.status != tt.status || !strings.Contains(r.body, tt.contains) {
				t.Errorf("got %d %s\nwant %d containing %q", r.status, r.body, tt.status, tt.contains)
			}
		})
	}
	// None of the refused requests changed state.
	for _, c := range l.Calls() {
		if c.Changed {
			t.Errorf("a refused request changed state: %+v", c)
		}
	}
}

func TestFaults(t *testing.T) {
	l := startLab(t)
	u := l.URL()
	okta := map[string]string{"Authorization": "SSWS " + oktaToken}
	l.InjectFault(Okta, Fault{Status: 429, Times: 2, RetryAfter: 30 * time.Second})
	for i := 0; i < 2; i++ {
		r := send(t, "GET", u+"/okta/api/v1/users/jdoe@example.com", okta, "")
		reset, _ := strconv.ParseInt(r.header.Get("X-Rate-Limit-Reset"), 10, 64)
		if r.status != 429 || !strings.Contains(r.body, "E0000047") || reset < time.Now().Add(25*time.Second).Unix() {
			t.Fatalf("okta 429: %d %v %s", r.status, r.header, r.body)
		}
	}
	if r := send(t, "GET", u+"/okta/api/v1/users/jdoe@example.com", okta, ""); r.status != 200 {
		t.Fatalf("fault not spent: %d", r.status)
	}
	cs := map[string]string{"Authorization": "Bearer " + token(t, l, CrowdStrike)}
	l.InjectFault(CrowdStrike, Fault{Status: 429})
	r := send(t, "GET", u+"/crowdstrike/devices/queries/devices/v1", cs, "")
	if at, _ := strconv.ParseInt(r.header.Get("X-RateLimit-RetryAfter"), 10, 64); r.status != 429 || at < time.Now().Unix() || r.header.Get("Retry-After") != "" {
		t.Fatalf("crowdstrike 429 headers: %v", r.header)
	}
	// Lost: applied, then answered 502.
	l.InjectFault(Okta, Fault{Status: 502, Lost: true})
	if r := send(t, "GET", u+"/okta/api/v1/users/jdoe@example.com", okta, ""); r.status != 200 {
		t.Fatalf("a Lost fault hit a read: %d", r.status)
	}
	r = send(t, "POST", u+"/okta/api/v1/users/jdoe@example.com/lifecycle/suspend", okta, "")
	if r.status != 502 || l.Changes(Okta, "suspend", "jdoe@example.com") != 1 {
		t.Fatalf("lost answer: %d, changes %d", r.status, l.Changes(Okta, "suspend", "jdoe@example.com"))
	}
	if c := l.CallsFor(Okta, "suspend", "")[0]; !strings.Contains(c.Note, "answer lost") {
		t.Errorf("call note = %q", c.Note)
	}
	if st := l.State(); len(st.SuspendedUsers) != 1 || st.SuspendedUsers[0].User != "jdoe@example.com" {
		t.Errorf("suspended = %+v", st.SuspendedUsers)
	}
}

func TestStateAndPage(t *testing.T) {
	l := startLab(t)
	jiraAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(jiraEmail+":"+jiraToken))
	evil := `<script>alert("x")</script>`
	body := fmt.Sprintf(`{"fields":{"project":{"key":"SEC"},"summary":%q,"issuetype":{"name":"Task"},"labels":["riposte-abc"],
		"description":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":%q}]}]}}}`, evil, evil)
	r := send(t, "POST", l.URL()+"/jira/rest/api/3/issue", map[string]string{"Authorization": jiraAuth, "Content-Type": ctJSON, "Idempotency-Key": "k-1"}, body)
	if r.status != 201 || !strings.Contains(r.body, `"key":"SEC-1"`) {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	st := l.State()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"contained_hosts", "suspended_users", "disabled_users", "blocked_ips", "tickets", "pages", "calls"} {
		if !strings.Contains(string(b), `"`+k+`"`) {
			t.Errorf("state JSON lacks %s", k)
		}
	}
	if len(st.Tickets) != 1 || st.Tickets[0].Description != evil || st.Calls[0].IdempotencyKey != "k-1" {
		t.Errorf("state = %+v", st)
	}

	rec := httptest.NewRecorder()
	l.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/lab", nil))
	page := rec.Body.String()
	if rec.Code != 200 || strings.Contains(page, "<script>") || !strings.Contains(page, "&lt;script&gt;") {
		t.Errorf("page not escaped (%d):\n%s", rec.Code, page)
	}
	for _, s := range []string{"fin-ws-042", "jdoe@example.com", "SEC-1"} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %s", s)
		}
	}
	rec = httptest.NewRecorder()
	l.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/lab?format=json", nil))
	var back State
	if err := json.Unmarshal(rec.Body.Bytes(), &back); err != nil || len(back.Tickets) != 1 {
		t.Errorf("json page: %v %s", err, rec.Body.String())
	}
	if r := send(t, "GET", l.URL()+"/", nil, ""); r.status != 200 || !strings.Contains(r.body, "Riposte lab") {
		t.Errorf("lab root: %d", r.status)
	}
}

// Run with -race: fakes, faults and snapshots from many goroutines.
func TestConcurrentUse(t *testing.T) {
	l := startLab(t)
	okta := map[string]string{"Authorization": "SSWS " + oktaToken}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			user := l.Users[i%6].Login
			for j := 0; j < 10; j++ {
				send(t, "POST", l.URL()+"/okta/api/v1/users/"+user+"/lifecycle/suspend", okta, "")
				send(t, "POST", l.URL()+"/okta/api/v1/users/"+user+"/lifecycle/unsuspend", okta, "")
				send(t, "DELETE", l.URL()+"/okta/api/v1/users/"+user+"/sessions?oauthTokens=true", okta, "")
				if j%3 == 0 {
					l.InjectFault(Okta, Fault{Status: 503})
				}
				_ = l.State()
				_ = l.Calls()
				_ = l.Requests(Okta)
				rec := httptest.NewRecorder()
				l.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			}
		}(i)
	}
	wg.Wait()
	if len(l.Requests(Okta)) != 8*10*3 {
		t.Errorf("requests = %d", len(l.Requests(Okta)))
	}
}

// Adding a vendor is one folder plus one line: the registry
// (activities.Vendors), the lab (fakes) and the docs (docs/actions.md,
// generated from each folder's README.md) list the same vendors in the
// same order, and each folder holds its fake and its docs fragment.
func TestRegistryLabAndDocsListTheSameVendors(t *testing.T) {
	l := startLab(t)
	var registry, folders []string
	for _, v := range activities.Vendors() {
		registry = append(registry, v.Type.Name)
		folders = append(folders, v.Folder())
		for _, f := range []string{"fake.go", "README.md"} {
			if _, err := os.Stat(filepath.Join("../..", v.Folder(), f)); err != nil {
				t.Errorf("%s: %s/%s: %v", v.Type.Name, v.Folder(), f, err)
			}
		}
		if !strings.HasPrefix(v.Docs, "# ") {
			t.Errorf("%s: docs fragment %s/README.md must start with a # title line", v.Type.Name, v.Folder())
		}
	}
	if got := l.Vendors(); !slices.Equal(got, registry) {
		t.Errorf("lab fakes %v, registry %v: add the vendor's NewFake line to fakes() in internal/lab/lab.go", got, registry)
	}
	md, err := os.ReadFile("../../docs/actions.md")
	if err != nil {
		t.Fatal(err)
	}
	_, connectors, ok := strings.Cut(string(md), "\n# Connectors\n")
	connectors, _, _ = strings.Cut(connectors, "\n# Actions\n")
	var documented []string
	for _, line := range strings.Split(connectors, "\n") {
		if _, typ, ok := strings.Cut(line, "Connection `type: "); ok {
			documented = append(documented, typ[:strings.Index(typ, "`")])
		}
	}
	if !ok || !slices.Equal(documented, registry) {
		t.Errorf("docs/actions.md documents connectors %v, registry %v: regenerate it", documented, registry)
	}
	t.Logf("vendor folders: %v", folders)
}
