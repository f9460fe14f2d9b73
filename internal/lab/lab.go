// Package lab runs fake vendor services on loopback for tests and
// `riposte dev`. Each vendor's fake lives in its connector's folder
// (activities/<vendor>/fake.go) and implements the documented API subset
// that connector uses, with in-memory state, the vendor's auth (fixed lab
// credentials), its error shapes and its request checks; what they share
// (calls, faults, tokens, the host and user inventory) is internal/labkit.
// This package only composes them: fakes() has one line per vendor.
//
// Every state-changing request that reaches a fake is recorded with its
// target and Idempotency-Key/X-Request-Id header, so tests can assert that
// no containment reached a vendor twice for the same step. Faults can be
// injected per vendor: the next N calls answer 429 (with the vendor's
// rate-limit headers), 5xx or 401, or apply the change and then answer an
// error as if the response had been lost.
package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"time"

	"github.com/riposte-dev/riposte/activities/abuseipdb"
	"github.com/riposte-dev/riposte/activities/aws"
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
	"github.com/riposte-dev/riposte/internal/labkit"
)

// fakes is the lab's list of vendor fakes: one line per folder
// activities/<vendor>/, the same vendors as the connector registry
// (activities.Vendors; a test checks they agree).
func fakes(k *labkit.Kit) []labkit.Fake {
	return []labkit.Fake{
		crowdstrike.NewFake(k),
		defender.NewFake(k),
		sentinelone.NewFake(k),
		okta.NewFake(k),
		entra.NewFake(k),
		panos.NewFake(k),
		httpreq.NewFake(k),
		jira.NewFake(k),
		pagerduty.NewFake(k),
		virustotal.NewFake(k),
		abuseipdb.NewFake(k),
		aws.NewFake(k),
	}
}

// Vendor names: keys of faults, calls and requests (each is its fake's
// Name, i.e. its connection type).
const (
	CrowdStrike = "crowdstrike"
	Defender    = "defender"
	Login       = labkit.Login // the Entra token endpoint, shared by defender and entra
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

// EchoConnection is the name of the lab's http connection (http.request
// needs an explicit connection).
const EchoConnection = httpreq.EchoConnection

// KnownBad lists the lab's canned indicators, for docs and tests.
var KnownBad = labkit.KnownBad

// The lab's types are the kit's.
type (
	// Call is one state-changing request that reached a fake.
	Call = labkit.Call
	// Request is any request a fake received.
	Request = labkit.Request
	// Fault makes a vendor's next calls fail (see labkit.Fault).
	Fault = labkit.Fault
	// State is a JSON-able snapshot of what the fakes hold.
	State = labkit.State
	// ContainedHost is a part of State, as are UserState, BlockedIP,
	// Ticket, Comment, Page, HostState and UserSummary.
	ContainedHost = labkit.ContainedHost
	UserState     = labkit.UserState
	BlockedIP     = labkit.BlockedIP
	Ticket        = labkit.Ticket
	Comment       = labkit.Comment
	Page          = labkit.Page
	HostState     = labkit.HostState
	UserSummary   = labkit.UserSummary
)

// Options configures Start.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0 (a free loopback port).
	Addr   string
	Logger *slog.Logger
}

// Lab is a running set of fake vendors behind one loopback HTTP server.
// The kit's methods (InjectFault, SetPending, Calls, CallsFor, Changes,
// Requests, ExpireTokens, AddHosts, AddUser, …) are the lab's.
type Lab struct {
	*labkit.Kit
	fakes []labkit.Fake
	srv   *http.Server
	done  chan struct{}
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
	k := labkit.New("http://"+ln.Addr().String(), opts.Logger)
	l := &Lab{Kit: k, fakes: fakes(k), done: make(chan struct{})}
	mux := http.NewServeMux()
	k.MicrosoftLoginRoutes(mux)
	for _, f := range l.fakes {
		f.Routes(mux)
	}
	mux.Handle("GET /{$}", l.Handler())
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) { labkit.WriteJSON(w, http.StatusOK, l.State()) })
	l.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(l.done)
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			k.Logger.Error("lab server stopped", "err", err)
		}
	}()
	return l, nil
}

// Fake returns the lab's fake of type T (e.g. *aws.Fake), for a vendor's
// own test hooks; it panics when the lab has none, a programming error.
func Fake[T labkit.Fake](l *Lab) T {
	for _, f := range l.fakes {
		if t, ok := f.(T); ok {
			return t
		}
	}
	panic(fmt.Sprintf("lab: no fake of type %T", *new(T)))
}

// Vendors lists the vendor names of the fakes, in registry order.
func (l *Lab) Vendors() []string {
	out := make([]string, len(l.fakes))
	for i, f := range l.fakes {
		out[i] = f.Name()
	}
	return out
}

// URL is the lab's base URL (http://127.0.0.1:port).
func (l *Lab) URL() string { return l.Kit.URL }

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
func (l *Lab) Connections() map[string]connector.Connection {
	out := map[string]connector.Connection{}
	for _, f := range l.fakes {
		maps.Copy(out, f.Connections())
	}
	return out
}

// State returns a snapshot of every fake's state and the recorded calls.
func (l *Lab) State() State {
	l.Mu.Lock()
	defer l.Mu.Unlock()
	return l.Kit.Snapshot(l.fakes)
}
