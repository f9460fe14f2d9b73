// Package lab runs fake vendor services on loopback for tests and
// `riposte dev`: CrowdStrike, Defender for Endpoint (+ Entra login),
// SentinelOne, Okta, Microsoft Graph, PAN-OS, Jira, PagerDuty, VirusTotal,
// AbuseIPDB and a generic HTTP echo. Each fake implements the documented
// API subset Riposte's connectors use, with in-memory state, the vendor's
// auth (fixed lab credentials), its error shapes and its request checks.
//
// Every state-changing request that reaches a fake is recorded with its
// target and Idempotency-Key/X-Request-Id header, so tests can assert that
// no containment reached a vendor twice for the same step. Faults can be
// injected per vendor: the next N calls answer 429 (with the vendor's
// rate-limit headers), 5xx or 401, or apply the change and then answer an
// error as if the response had been lost.
package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/riposte-dev/riposte/activities"
)

// Vendor names: keys of faults, calls and requests.
const (
	CrowdStrike = "crowdstrike"
	Defender    = "defender"
	Login       = "login" // the Entra token endpoint, shared by defender and entra
	SentinelOne = "sentinelone"
	Okta        = "okta"
	Entra       = "entra"
	PANOS       = "panos"
	Jira        = "jira"
	PagerDuty   = "pagerduty"
	VirusTotal  = "virustotal"
	AbuseIPDB   = "abuseipdb"
	HTTPEcho    = "http"
	AWS         = "aws"
)

// Vendors lists every fake.
func Vendors() []string {
	return []string{CrowdStrike, Defender, Login, SentinelOne, Okta, Entra, PANOS, Jira, PagerDuty, VirusTotal, AbuseIPDB, HTTPEcho, AWS}
}

// EchoConnection is the name of the lab's http connection (http.request
// needs an explicit connection).
const EchoConnection = "lab-echo"

// Lab credentials. They are public test constants, not secrets.
const (
	csClientID     = "lab-cs-client"
	csClientSecret = "lab-cs-secret"
	// CSUS2ClientID is a lab API client whose home is the us-2 cloud.
	csUS2ClientID     = "lab-cs-us2-client"
	csUS2ClientSecret = "lab-cs-us2-secret"
	msTenant          = "lab-tenant"
	defClientID       = "lab-defender-app"
	defSecret         = "lab-defender-secret"
	graphClientID     = "lab-graph-app"
	graphSecret       = "lab-graph-secret"
	s1Token           = "lab-s1-token"
	oktaToken         = "lab-okta-token"
	panosKey          = "lab-panos-key"
	echoToken         = "lab-http-token"
	jiraEmail         = "soc@example.com"
	jiraToken         = "lab-jira-token"
	pdRoutingKey      = "labroutingkey0000000000000000000" // 32 characters, like the real ones
	vtKey             = "lab-vt-key"
	abuseKey          = "lab-abuseipdb-key"
)

// Options configures Start.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0 (a free loopback port).
	Addr   string
	Logger *slog.Logger
}

// Lab is a running set of fake vendors behind one loopback HTTP server.
type Lab struct {
	url    string
	srv    *http.Server
	ln     net.Listener
	logger *slog.Logger
	done   chan struct{}

	mu       sync.Mutex
	seq      int
	calls    []Call
	requests []Request
	faults   map[string][]*Fault
	tokens   map[string]issuedToken

	hosts   []*host
	s1Stale []*s1Stale
	// pending is how long containment actions stay pending (SetPending).
	pending time.Duration
	users   []*user
	panos   map[string]*registration // ip -> tags
	// panoramaOwn is Panorama's own User-ID table; panoramaFW the
	// managed firewalls' tables by serial.
	panoramaOwn map[string]*registration
	panoramaFW  map[string]map[string]*registration
	jira        *jiraState
	aws         *awsState
	pd          map[string]*Page
	pdOrder     []string
}

// Call is one state-changing request that reached a fake.
type Call struct {
	Seq    int       `json:"seq"`
	Time   time.Time `json:"time"`
	Vendor string    `json:"vendor"`
	Op     string    `json:"op"`     // contain, isolate, suspend, register, create_issue, …
	Target string    `json:"target"` // host name, user login, IP, issue key, dedup key
	// Changed is false when the request left the state as it was (already
	// contained, already suspended, duplicate event…).
	Changed bool `json:"changed"`
	// IdempotencyKey is the Idempotency-Key (or X-Request-Id) header.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	Status         int    `json:"status"`
	Note           string `json:"note,omitempty"`
}

// Request is any request a fake received, for assertions on call counts.
type Request struct {
	Vendor string `json:"vendor"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
}

// Fault makes a vendor's next Times API calls fail. Status 429 carries the
// vendor's rate-limit headers asking for RetryAfter (default 20s); 5xx and
// 401 carry the vendor's error body. With Lost, the next Times
// state-changing calls are applied first and only their answer is replaced:
// the connector sees a failure although the vendor acted.
type Fault struct {
	Status     int
	Times      int
	RetryAfter time.Duration
	Lost       bool
}

// InjectFault queues a fault for a vendor (see Fault). Token endpoints are
// not affected, except the Login vendor's own.
func (l *Lab) InjectFault(vendor string, f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.RetryAfter <= 0 {
		f.RetryAfter = 20 * time.Second
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.faults[vendor] = append(l.faults[vendor], &f)
}

// SetPending makes containment actions take d to complete, as on real
// devices: Defender machine actions stay Pending (and another isolation
// action answers 400 "already in progress") until then. Default 0.
func (l *Lab) SetPending(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = d
}

// ClearFaults drops every pending fault.
func (l *Lab) ClearFaults() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.faults = map[string][]*Fault{}
}

// takeFault pops the next applicable fault for a request.
func (l *Lab) takeFault(vendor string, mutating bool) *Fault {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.faults[vendor]
	for i, f := range q {
		if f.Lost && !mutating {
			continue
		}
		cp := *f
		f.Times--
		if f.Times <= 0 {
			l.faults[vendor] = append(q[:i:i], q[i+1:]...)
		}
		return &cp
	}
	return nil
}

// Start starts the lab on a loopback port.
func Start(opts Options) (*Lab, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("starting lab: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Lab{
		url:    "http://" + ln.Addr().String(),
		ln:     ln,
		logger: logger,
		done:   make(chan struct{}),
		faults: map[string][]*Fault{},
		tokens: map[string]issuedToken{},
	}
	l.seed()
	mux := http.NewServeMux()
	l.routes(mux)
	mux.Handle("GET /{$}", l.Handler())
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, l.State()) })
	l.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(l.done)
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("lab server stopped", "err", err)
		}
	}()
	return l, nil
}

// URL is the lab's base URL (http://127.0.0.1:port).
func (l *Lab) URL() string { return l.url }

// Close stops the server.
func (l *Lab) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := l.srv.Shutdown(ctx)
	<-l.done
	return err
}

// Connections returns connection config pointing at the fakes, with the
// lab credentials as SecretRef{Lab: …} (literal values; lab only).
func (l *Lab) Connections() map[string]activities.Connection {
	lit := func(v string) activities.SecretRef { return activities.SecretRef{Lab: v} }
	tokenURL := l.url + "/login/" + msTenant + "/oauth2/v2.0/token"
	return map[string]activities.Connection{
		"crowdstrike": {Type: "crowdstrike", BaseURL: l.url + "/crowdstrike",
			Options: map[string]string{"client_id": csClientID},
			Secrets: map[string]activities.SecretRef{"client_secret": lit(csClientSecret)}},
		"defender": {Type: "defender", BaseURL: l.url + "/defender",
			Options: map[string]string{"tenant_id": msTenant, "client_id": defClientID, "token_url": tokenURL},
			Secrets: map[string]activities.SecretRef{"client_secret": lit(defSecret)}},
		"sentinelone": {Type: "sentinelone", BaseURL: l.url + "/sentinelone",
			Secrets: map[string]activities.SecretRef{"api_token": lit(s1Token)}},
		"okta": {Type: "okta", BaseURL: l.url + "/okta",
			Secrets: map[string]activities.SecretRef{"api_token": lit(oktaToken)}},
		"entra": {Type: "entra", BaseURL: l.url + "/graph",
			Options: map[string]string{"tenant_id": msTenant, "client_id": graphClientID, "token_url": tokenURL},
			Secrets: map[string]activities.SecretRef{"client_secret": lit(graphSecret)}},
		"panos": {Type: "panos", BaseURL: l.url + "/panos",
			Options: map[string]string{"tag": "riposte-blocked"},
			Secrets: map[string]activities.SecretRef{"api_key": lit(panosKey)}},
		EchoConnection: {Type: "http", BaseURL: l.url + "/http",
			Secrets: map[string]activities.SecretRef{"token": lit(echoToken)}},
		"jira": {Type: "jira", BaseURL: l.url + "/jira",
			Options: map[string]string{"email": jiraEmail, "project": "SEC"},
			Secrets: map[string]activities.SecretRef{"api_token": lit(jiraToken)}},
		"pagerduty": {Type: "pagerduty", BaseURL: l.url + "/pagerduty",
			Secrets: map[string]activities.SecretRef{"routing_key": lit(pdRoutingKey)}},
		"virustotal": {Type: "virustotal", BaseURL: l.url + "/virustotal",
			Secrets: map[string]activities.SecretRef{"api_key": lit(vtKey)}},
		"abuseipdb": {Type: "abuseipdb", BaseURL: l.url + "/abuseipdb",
			Secrets: map[string]activities.SecretRef{"api_key": lit(abuseKey)}},
		"aws": {Type: "aws",
			Options: map[string]string{"region": "us-east-1", "access_key_id": AWSAccessKeyID,
				"iam_endpoint": l.url + "/aws/iam", "ec2_endpoint": l.url + "/aws/ec2", "sts_endpoint": l.url + "/aws/sts",
				"quarantine_security_group": AWSQuarantineGroup},
			Secrets: map[string]activities.SecretRef{"secret_access_key": lit(awsSecretKey)}},
	}
}

// Calls returns every state-changing request recorded, in order.
func (l *Lab) Calls() []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Call(nil), l.calls...)
}

// CallsFor returns the recorded calls of one vendor, op and target (any
// of them "" matches all).
func (l *Lab) CallsFor(vendor, op, target string) []Call {
	var out []Call
	for _, c := range l.Calls() {
		if (vendor == "" || c.Vendor == vendor) && (op == "" || c.Op == op) && (target == "" || strings.EqualFold(c.Target, target)) {
			out = append(out, c)
		}
	}
	return out
}

// Changes counts the calls that changed state, for one vendor, op and
// target ("" matches all).
func (l *Lab) Changes(vendor, op, target string) int {
	n := 0
	for _, c := range l.CallsFor(vendor, op, target) {
		if c.Changed {
			n++
		}
	}
	return n
}

// Requests returns every request a vendor's fake received ("" = all).
func (l *Lab) Requests(vendor string) []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Request
	for _, r := range l.requests {
		if vendor == "" || r.Vendor == vendor {
			out = append(out, r)
		}
	}
	return out
}

// ExpireTokens invalidates every bearer token issued so far, as if they
// had expired: the next API call gets a 401.
func (l *Lab) ExpireTokens() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens = map[string]issuedToken{}
}

// record adds a state-changing call. Callers hold l.mu.
func (l *Lab) record(r *http.Request, vendor, op, target string, changed bool, status int, note string) {
	l.seq++
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		key = r.Header.Get("X-Request-Id")
	}
	l.calls = append(l.calls, Call{Seq: l.seq, Time: time.Now().UTC(), Vendor: vendor, Op: op, Target: target,
		Changed: changed, IdempotencyKey: key, Status: status, Note: note})
}

// --- routing ---

type routeKind int

const (
	readRoute   routeKind = iota // faults apply
	mutateRoute                  // faults and lost-response faults apply
	tokenRoute                   // faults only for the Login vendor
)

// faultWriter writes a vendor's answer for an injected fault.
type faultWriter func(w http.ResponseWriter, f *Fault)

// handle registers a fake endpoint with request logging and faults.
func (l *Lab) handle(mux *http.ServeMux, vendor, pattern string, kind routeKind, fw faultWriter, h http.HandlerFunc) {
	l.handleClassified(mux, vendor, pattern, func(*http.Request) routeKind { return kind }, fw, h)
}

// handleClassified is handle for an endpoint that both reads and writes
// (PAN-OS): classify tells which a request is.
func (l *Lab) handleClassified(mux *http.ServeMux, vendor, pattern string, classify func(*http.Request) routeKind, fw faultWriter, h http.HandlerFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			l.mu.Lock()
			l.requests = append(l.requests, Request{Vendor: vendor, Method: r.Method, Path: r.URL.Path, Status: rec.status})
			l.mu.Unlock()
		}()
		kind := classify(r)
		if kind != tokenRoute || vendor == Login {
			if f := l.takeFault(vendor, kind == mutateRoute); f != nil {
				if f.Lost {
					// Apply the request, then lose its answer.
					l.mu.Lock()
					before := l.seq
					l.mu.Unlock()
					h(&discardWriter{header: http.Header{}}, r)
					l.mu.Lock()
					for i := range l.calls {
						if l.calls[i].Seq > before {
							l.calls[i].Note = strings.TrimSpace(l.calls[i].Note + fmt.Sprintf(" (answer lost: injected HTTP %d)", f.Status))
						}
					}
					l.mu.Unlock()
				}
				fw(rec, f)
				return
			}
		}
		h(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func (l *Lab) routes(mux *http.ServeMux) {
	l.crowdstrikeRoutes(mux)
	l.loginRoutes(mux)
	l.defenderRoutes(mux)
	l.sentineloneRoutes(mux)
	l.oktaRoutes(mux)
	l.graphRoutes(mux)
	l.panosRoutes(mux)
	l.jiraRoutes(mux)
	l.pagerdutyRoutes(mux)
	l.virustotalRoutes(mux)
	l.abuseipdbRoutes(mux)
	l.echoRoutes(mux)
	l.awsRoutes(mux)
}

// --- tokens ---

type issuedToken struct {
	audience string
	expires  time.Time
}

func (l *Lab) issueToken(audience string, ttl time.Duration) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "lab-" + audience + "-" + hex.EncodeToString(b)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens[tok] = issuedToken{audience: audience, expires: time.Now().Add(ttl)}
	return tok
}

// bearer checks an Authorization: Bearer token for an audience.
func (l *Lab) bearer(r *http.Request, audience string) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.tokens[tok]
	return ok && t.audience == audience && time.Now().Before(t.expires)
}

// --- helpers ---

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// isJSON reports whether a request declares a JSON body.
func isJSON(r *http.Request) bool {
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(r.Header.Get("Content-Type"), ";", 2)[0]))
	return ct == "application/json"
}

func isForm(r *http.Request) bool {
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(r.Header.Get("Content-Type"), ";", 2)[0]))
	return ct == "application/x-www-form-urlencoded"
}

// decodeBody reads a JSON object body.
func decodeBody(r *http.Request) (map[string]any, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("body is not a JSON object")
	}
	return m, nil
}

// stableID derives a deterministic id from a seed: n hex digits.
func stableID(seed string, n int) string {
	sum := sha256.Sum256([]byte(seed))
	h := hex.EncodeToString(sum[:])
	return h[:n]
}

func epoch(d time.Duration) string { return fmt.Sprint(time.Now().Add(d).Unix()) }

func seconds(d time.Duration) string { return fmt.Sprint(int(d.Round(time.Second) / time.Second)) }

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
