// Package labkit is what every fake vendor of the lab shares: one lock,
// the record of state-changing calls and of every request, injected
// faults, bearer tokens, the seeded inventory of hosts and users that all
// EDR and identity fakes know, the Microsoft identity platform's token
// endpoint (Defender and Graph both sign in there), and the JSON helpers.
//
// Each vendor's fake lives in its own folder, activities/<vendor>/fake.go,
// and implements Fake; internal/lab composes them, one line per vendor.
package labkit

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/riposte-dev/riposte/internal/connector"
)

// Fake is one vendor's fake.
type Fake interface {
	// Name is the vendor name: the connection type, and the key of
	// faults, calls and requests.
	Name() string
	// Routes registers the fake's endpoints (with Kit.Handle).
	Routes(mux *http.ServeMux)
	// Connections are the connections pointing at the fake, with the lab
	// credentials as literal secrets.
	Connections() map[string]connector.Connection
	// Snapshot adds what the fake holds to st. Callers hold Kit.Mu.
	Snapshot(st *State)
}

// Kit is the shared core of a running lab.
type Kit struct {
	// URL is the lab's base URL (http://127.0.0.1:port); every fake
	// serves under its own path prefix.
	URL    string
	Logger *slog.Logger

	// Mu guards the kit and every fake's own state: one lock keeps the
	// lab's snapshots consistent across vendors.
	Mu sync.Mutex
	// Hosts and Users are the inventory every EDR and identity fake
	// knows (Seed, AddHosts, AddUser).
	Hosts []*Host
	Users []*User
	// Pending is how long containment actions take (SetPending).
	Pending time.Duration

	seq      int
	calls    []Call
	requests []Request
	faults   map[string][]*Fault
	tokens   map[string]issuedToken
	msApps   map[string]string // client id -> secret
	msScopes map[string]string // scope -> token audience
}

// New returns a kit for a lab served at url, with the seeded inventory.
func New(url string, logger *slog.Logger) *Kit {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	k := &Kit{URL: url, Logger: logger, faults: map[string][]*Fault{}, tokens: map[string]issuedToken{},
		msApps: map[string]string{}, msScopes: map[string]string{}}
	k.seed()
	return k
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
func (k *Kit) InjectFault(vendor string, f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.RetryAfter <= 0 {
		f.RetryAfter = 20 * time.Second
	}
	k.Mu.Lock()
	defer k.Mu.Unlock()
	k.faults[vendor] = append(k.faults[vendor], &f)
}

// SetPending makes containment actions take d to complete, as on real
// devices: Defender machine actions stay Pending (and another isolation
// action answers 400 "already in progress") and CrowdStrike reports
// containment_pending until then. Default 0.
func (k *Kit) SetPending(d time.Duration) {
	k.Mu.Lock()
	defer k.Mu.Unlock()
	k.Pending = d
}

// ClearFaults drops every pending fault.
func (k *Kit) ClearFaults() {
	k.Mu.Lock()
	defer k.Mu.Unlock()
	k.faults = map[string][]*Fault{}
}

// takeFault pops the next applicable fault for a request.
func (k *Kit) takeFault(vendor string, mutating bool) *Fault {
	k.Mu.Lock()
	defer k.Mu.Unlock()
	q := k.faults[vendor]
	for i, f := range q {
		if f.Lost && !mutating {
			continue
		}
		cp := *f
		f.Times--
		if f.Times <= 0 {
			k.faults[vendor] = append(q[:i:i], q[i+1:]...)
		}
		return &cp
	}
	return nil
}

// Calls returns every state-changing request recorded, in order.
func (k *Kit) Calls() []Call {
	k.Mu.Lock()
	defer k.Mu.Unlock()
	return append([]Call(nil), k.calls...)
}

// CallsLocked is Calls for a caller holding Mu.
func (k *Kit) CallsLocked() []Call { return append([]Call{}, k.calls...) }

// CallsFor returns the recorded calls of one vendor, op and target (any
// of them "" matches all).
func (k *Kit) CallsFor(vendor, op, target string) []Call {
	var out []Call
	for _, c := range k.Calls() {
		if (vendor == "" || c.Vendor == vendor) && (op == "" || c.Op == op) && (target == "" || strings.EqualFold(c.Target, target)) {
			out = append(out, c)
		}
	}
	return out
}

// Changes counts the calls that changed state, for one vendor, op and
// target ("" matches all).
func (k *Kit) Changes(vendor, op, target string) int {
	n := 0
	for _, c := range k.CallsFor(vendor, op, target) {
		if c.Changed {
			n++
		}
	}
	return n
}

// Requests returns every request a vendor's fake received ("" = all).
func (k *Kit) Requests(vendor string) []Request {
	k.Mu.Lock()
	defer k.Mu.Unlock()
	var out []Request
	for _, r := range k.requests {
		if vendor == "" || r.Vendor == vendor {
			out = append(out, r)
		}
	}
	return out
}

// ExpireTokens invalidates every bearer token issued so far, as if they
// had expired: the next API call gets a 401.
func (k *Kit) ExpireTokens() {
	k.Mu.Lock()
	defer k.Mu.Unlock()
	k.tokens = map[string]issuedToken{}
}

// Record adds a state-changing call. Callers hold Mu.
func (k *Kit) Record(r *http.Request, vendor, op, target string, changed bool, status int, note string) {
	k.seq++
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		key = r.Header.Get("X-Request-Id")
	}
	k.calls = append(k.calls, Call{Seq: k.seq, Time: time.Now().UTC(), Vendor: vendor, Op: op, Target: target,
		Changed: changed, IdempotencyKey: key, Status: status, Note: note})
}

// --- routing ---

// RouteKind tells which faults apply to an endpoint.
type RouteKind int

// Route kinds.
const (
	ReadRoute   RouteKind = iota // faults apply
	MutateRoute                  // faults and lost-response faults apply
	TokenRoute                   // faults only for the Login vendor
)

// FaultWriter writes a vendor's answer for an injected fault.
type FaultWriter func(w http.ResponseWriter, f *Fault)

// Handle registers a fake endpoint with request logging and faults.
func (k *Kit) Handle(mux *http.ServeMux, vendor, pattern string, kind RouteKind, fw FaultWriter, h http.HandlerFunc) {
	k.HandleClassified(mux, vendor, pattern, func(*http.Request) RouteKind { return kind }, fw, h)
}

// HandleClassified is Handle for an endpoint that both reads and writes
// (PAN-OS, AWS query APIs): classify tells which a request is.
func (k *Kit) HandleClassified(mux *http.ServeMux, vendor, pattern string, classify func(*http.Request) RouteKind, fw FaultWriter, h http.HandlerFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			k.Mu.Lock()
			k.requests = append(k.requests, Request{Vendor: vendor, Method: r.Method, Path: r.URL.Path, Status: rec.status})
			k.Mu.Unlock()
		}()
		kind := classify(r)
		if kind != TokenRoute || vendor == Login {
			if f := k.takeFault(vendor, kind == MutateRoute); f != nil {
				if f.Lost {
					// Apply the request, then lose its answer.
					k.Mu.Lock()
					before := k.seq
					k.Mu.Unlock()
					h(&discardWriter{header: http.Header{}}, r)
					k.Mu.Lock()
					for i := range k.calls {
						if k.calls[i].Seq > before {
							k.calls[i].Note = strings.TrimSpace(k.calls[i].Note + fmt.Sprintf(" (answer lost: injected HTTP %d)", f.Status))
						}
					}
					k.Mu.Unlock()
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

// --- tokens ---

type issuedToken struct {
	audience string
	expires  time.Time
}

// IssueToken issues a bearer token for an audience, valid for ttl.
func (k *Kit) IssueToken(audience string, ttl time.Duration) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "lab-" + audience + "-" + hex.EncodeToString(b)
	k.Mu.Lock()
	defer k.Mu.Unlock()
	k.tokens[tok] = issuedToken{audience: audience, expires: time.Now().Add(ttl)}
	return tok
}

// Bearer checks an Authorization: Bearer token for an audience.
func (k *Kit) Bearer(r *http.Request, audience string) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	k.Mu.Lock()
	defer k.Mu.Unlock()
	t, ok := k.tokens[tok]
	return ok && t.audience == audience && time.Now().Before(t.expires)
}

// Lit is a lab credential as a literal secret reference (lab only).
func Lit(v string) connector.SecretRef { return connector.SecretRef{Lab: v} }

// --- helpers ---

// WriteJSON answers v as JSON with a status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteRaw answers a stored body (a vendor's sample) with a status.
func WriteRaw(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func mediaType(r *http.Request) string {
	return strings.ToLower(strings.TrimSpace(strings.SplitN(r.Header.Get("Content-Type"), ";", 2)[0]))
}

// IsJSON reports whether a request declares a JSON body.
func IsJSON(r *http.Request) bool { return mediaType(r) == "application/json" }

// IsForm reports whether a request declares a form body.
func IsForm(r *http.Request) bool { return mediaType(r) == "application/x-www-form-urlencoded" }

// DecodeBody reads a JSON object body.
func DecodeBody(r *http.Request) (map[string]any, error) {
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

// StableID derives a deterministic id from a seed: n hex digits.
func StableID(seed string, n int) string {
	sum := sha256.Sum256([]byte(seed))
	h := hex.EncodeToString(sum[:])
	return h[:n]
}

// GUID derives a deterministic GUID from a seed.
func GUID(seed string) string {
	h := StableID(seed, 32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Epoch is now+d in Unix seconds (rate-limit reset headers).
func Epoch(d time.Duration) string { return fmt.Sprint(time.Now().Add(d).Unix()) }

// Seconds is d in whole seconds (Retry-After).
func Seconds(d time.Duration) string { return fmt.Sprint(int(d.Round(time.Second) / time.Second)) }

// SortedKeys returns a map's keys in order.
func SortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Base is what every fake embeds: the lab's kit and the fake's vendor
// name. Its Snapshot adds nothing; fakes whose state the lab page shows
// define their own.
type Base struct {
	*Kit
	name string
}

// NewBase returns the base of the fake named name (its connection type).
func NewBase(k *Kit, name string) Base { return Base{Kit: k, name: name} }

// Name implements Fake.
func (b Base) Name() string { return b.name }

// Snapshot implements Fake: nothing to show.
func (b Base) Snapshot(*State) {}
