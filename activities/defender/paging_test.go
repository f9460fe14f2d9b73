package defender_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/activities/defender"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
	"time"
)

// historyStub answers the documented machine of machines.json, the
// machine's actions one page at a time (page(n, r) is the n-th GET of
// /api/machineactions, from 0), and records the POSTs.
type historyStub struct {
	mu       sync.Mutex
	machines []byte
	page     func(n int, r *http.Request, base string) any
	gets     int
	posts    []string
	base     string
	// inProgress answers every POST 400 "already in progress".
	inProgress bool
}

// errorPage is a page answered with an error status and body.
type errorPage struct {
	status int
	body   any
}

func (s *historyStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/token":
		_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"at"}`))
	case r.URL.Path == "/api/machines":
		_, _ = w.Write(s.machines)
	case r.URL.Path == "/api/machineactions":
		n := s.gets
		s.gets++
		p := s.page(n, r, s.base)
		if e, ok := p.(errorPage); ok {
			w.WriteHeader(e.status)
			p = e.body
		}
		_ = json.NewEncoder(w).Encode(p)
	case r.Method == http.MethodPost:
		s.posts = append(s.posts, r.URL.Path)
		if s.inProgress {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"code":"ActiveRequestAlreadyExists","message":"Action is already in progress","target":"1fa66c0f-18bd-4133-b378-36d76f3a2ba0"}}`))
			return
		}
		http.Error(w, "no action expected", http.StatusTeapot)
	default:
		http.NotFound(w, r)
	}
}

func (s *historyStub) harness(t *testing.T) *connectortest.Harness {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.base = srv.URL
	h := connectortest.New(t)
	h.Env.Connections["defender"] = activities.Connection{Type: "defender", BaseURL: srv.URL,
		Options: map[string]string{"client_id": "c", "token_url": srv.URL + "/token"},
		Secrets: map[string]activities.SecretRef{"client_secret": {Lab: "s3cret"}}}
	return h
}

// docAction is the documented MachineAction (machineaction.json) of the
// documented machine, with its id, type, status and creation time.
func docAction(t *testing.T, id, typ, status, created string) map[string]any {
	t.Helper()
	var a map[string]any
	if err := json.Unmarshal(connectortest.Sample(t, "machineaction.json"), &a); err != nil {
		t.Fatal(err)
	}
	delete(a, "@odata.context") // an entity inside a collection carries none
	a["id"], a["type"], a["scope"], a["status"], a["creationDateTimeUtc"] = id, typ, "Full", status, created
	a["machineId"], a["computerDnsName"] = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", "mymachine1.contoso.com"
	return a
}

func collection(values ...map[string]any) map[string]any {
	if values == nil {
		values = []map[string]any{}
	}
	return map[string]any{"@odata.context": "https://api.securitycenter.microsoft.com/api/$metadata#MachineActions", "value": values}
}

// "List MachineActions API" answers at most 10,000 actions a page
// ("Limitations: Maximum page size is 10,000"; $top at most 10,000, and
// $skip), and an OData V4 collection with more to come carries
// @odata.nextLink. The connector read the first page only: a machine whose
// latest Isolate is on a later page read as released (its last action on
// page one an Unisolate), and isolating it sent a second Isolate. It must
// follow the pages and find it already isolated.
func TestActionHistoryIsReadPastTheFirstPage(t *testing.T) {
	s := &historyStub{machines: connectortest.Sample(t, "machines.json")}
	s.page = func(n int, r *http.Request, base string) any {
		switch n {
		case 0:
			c := collection(docAction(t, "a1", "Isolate", "Succeeded", "2024-03-01T10:00:00Z"),
				docAction(t, "a2", "Unisolate", "Succeeded", "2024-03-02T10:00:00Z"))
			q := r.URL.Query()
			q.Set("$skip", "2")
			c["@odata.nextLink"] = base + "/api/machineactions?" + q.Encode()
			return c
		default:
			if r.URL.Query().Get("$skip") != "2" {
				t.Errorf("second page asked as %s, want the nextLink's $skip=2", r.URL.RawQuery)
			}
			return collection(docAction(t, "a3", "Isolate", "Succeeded", "2024-03-03T10:00:00Z"))
		}
	}
	h := s.harness(t)
	out, err := h.Run("defender.isolate_machine", map[string]any{"hostname": "mymachine1.contoso.com"}, "k1")
	if err != nil || out["already"] != true || out["action_id"] != "a3" {
		t.Errorf("output %v, err %v; want already: true with action_id a3 (the Isolate on page 2)", out, err)
	}
	if len(s.posts) != 0 {
		t.Errorf("sent %v to a machine already isolated", s.posts)
	}
}

// Paging is bounded: an answer that never stops handing out a nextLink (a
// proxy, a loop) fails the step saying so, and nothing is sent.
func TestActionHistoryPagesAreBounded(t *testing.T) {
	s := &historyStub{machines: connectortest.Sample(t, "machines.json")}
	s.page = func(n int, r *http.Request, base string) any {
		c := collection(docAction(t, fmt.Sprintf("u%d", n), "Unisolate", "Succeeded", "2024-03-01T10:00:00Z"))
		c["@odata.nextLink"] = base + "/api/machineactions?$skip=" + fmt.Sprint(n+1)
		return c
	}
	h := s.harness(t)
	out, err := h.Run("defender.isolate_machine", map[string]any{"hostname": "mymachine1.contoso.com"}, "k1")
	if err == nil || !strings.Contains(err.Error(), "pages") {
		t.Errorf("output %v, err %v; want a failure saying the action history has too many pages", out, err)
	}
	if len(s.posts) != 0 {
		t.Errorf("sent %v", s.posts)
	}
	if s.gets > 200 {
		t.Errorf("read %d pages", s.gets)
	}
}

// Every MachineAction has its id ("MachineAction" entity, "Get
// machineAction API"). An Isolate in the history without one read as
// already isolated with action_id "": a done step pointing at no action,
// on someone else's answer. It must fail, and send nothing.
func TestExistingActionWithoutIDFails(t *testing.T) {
	for _, drop := range []bool{true, false} {
		s := &historyStub{machines: connectortest.Sample(t, "machines.json")}
		s.page = func(n int, r *http.Request, base string) any {
			a := docAction(t, "x", "Isolate", "Succeeded", "2024-03-01T10:00:00Z")
			if drop {
				delete(a, "id")
			} else {
				a["id"] = ""
			}
			return collection(a)
		}
		h := s.harness(t)
		out, err := h.Run("defender.isolate_machine", map[string]any{"hostname": "mymachine1.contoso.com"}, "k1")
		wantVendorError(t, fmt.Sprintf("id dropped=%v", drop), out, err, "without an id")
		if len(s.posts) != 0 {
			t.Errorf("sent %v", s.posts)
		}
	}
}

// The lab's fake pages the way the List MachineActions API documents it:
// $top (at most 10,000) and $skip over the machine's actions, and a $top
// above 10,000 refused.
func TestFakePagesMachineActions(t *testing.T) {
	h := connectortest.New(t)
	for i, act := range []string{"defender.isolate_machine", "defender.unisolate_machine", "defender.isolate_machine"} {
		h.MustRun(act, map[string]any{"hostname": "fin-ws-042"}, fmt.Sprint("k", i))
	}
	out := h.MustRun("defender.isolate_machine", map[string]any{"hostname": "fin-ws-042"}, "k9")
	id, _ := out["machine_id"].(string)
	conn := h.Lab.Connections()["defender"]
	token := h.Lab.Kit.IssueToken("defender", time.Hour)
	get := func(query string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, conn.BaseURL+"/api/machineactions?$filter="+
			strings.ReplaceAll(fmt.Sprintf("machineId eq '%s'", id), " ", "%20")+query, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	ids := func(m map[string]any) []string {
		var out []string
		for _, v := range m["value"].([]any) {
			out = append(out, v.(map[string]any)["id"].(string))
		}
		return out
	}
	status, all := get("")
	if status != http.StatusOK || len(ids(all)) != 3 {
		t.Fatalf("all actions: %d %v", status, all)
	}
	_, p1 := get("&$top=2")
	_, p2 := get("&$top=2&$skip=2")
	if got, want := fmt.Sprint(ids(p1), ids(p2)), fmt.Sprint(ids(all)[:2], ids(all)[2:]); got != want {
		t.Errorf("pages of 2: %s, want %s", got, want)
	}
	if status, _ := get("&$top=10001"); status != http.StatusBadRequest {
		t.Errorf("$top=10001: %d, want 400", status)
	}
}

// Against the lab's fake, paged by $skip: with pages of 2, a machine whose
// history is Isolate, Unisolate, Isolate has its latest Isolate on page 2,
// and isolating it again is already done.
func TestActionHistoryIsReadBySkipFromTheFake(t *testing.T) {
	defer defender.SetActionsPage(2)()
	h := connectortest.New(t)
	for i, act := range []string{"defender.isolate_machine", "defender.unisolate_machine", "defender.isolate_machine"} {
		h.MustRun(act, map[string]any{"hostname": "fin-ws-042"}, fmt.Sprint("k", i))
	}
	out := h.MustRun("defender.isolate_machine", map[string]any{"hostname": "fin-ws-042"}, "k9")
	if out["already"] != true || out["action_id"] == "" {
		t.Errorf("output %v; want already: true with the Isolate on page 2", out)
	}
}

// Every MachineAction names its machine ("MachineAction" entity:
// machineId), and the history is asked for one machine ($filter=machineId
// eq '…'). A next page whose link dropped the filter (a proxy rewriting
// @odata.nextLink, a base_url that is not the API) listed other machines'
// actions, and the latest Isolate among them read as this machine
// already isolated: the step reported `already` with another machine's
// action and left the machine it was asked to contain unisolated. An
// action of another machine is not this machine's history: the step fails
// (VendorError) and sends nothing.
func TestActionOfAnotherMachineFails(t *testing.T) {
	s := &historyStub{machines: connectortest.Sample(t, "machines.json")}
	s.page = func(n int, r *http.Request, base string) any {
		switch n {
		case 0:
			c := collection(docAction(t, "a1", "Unisolate", "Succeeded", "2024-03-01T10:00:00Z"))
			c["@odata.nextLink"] = base + "/api/machineactions?$skip=1"
			return c
		default:
			other := docAction(t, "b1", "Isolate", "Succeeded", "2024-03-02T10:00:00Z")
			other["machineId"], other["computerDnsName"] = "7f3a1c0e9b2d4e5f6a7b8c9d0e1f2a3b4c5d6e7f", "other.contoso.com"
			return collection(other)
		}
	}
	h := s.harness(t)
	out, err := h.Run("defender.isolate_machine", map[string]any{"hostname": "mymachine1.contoso.com"}, "k1")
	wantVendorError(t, "another machine's Isolate", out, err, "another machine")
	if len(s.posts) != 0 {
		t.Errorf("sent %v", s.posts)
	}
}

// Every MachineAction names the machine it was taken on ("machineAction
// resource type": machineId, "ID of the machine on which the action was
// executed"; every documented answer carries it). An Isolate without it
// in the history asked for this machine read as this machine already
// isolated (and an Unisolate as already released): the step reported
// `already` on an action that names no machine, someone else's answer.
// It must fail (VendorError) naming the action, and send nothing.
func TestActionWithoutMachineIDFails(t *testing.T) {
	for _, c := range []struct{ action, typ string }{
		{"defender.isolate_machine", "Isolate"},
		{"defender.unisolate_machine", "Unisolate"},
	} {
		for _, drop := range []bool{true, false} {
			s := &historyStub{machines: connectortest.Sample(t, "machines.json")}
			s.page = func(n int, r *http.Request, base string) any {
				a := docAction(t, "a-no-machine", c.typ, "Succeeded", "2024-03-01T10:00:00Z")
				if drop {
					delete(a, "machineId")
				} else {
					a["machineId"] = ""
				}
				return collection(a)
			}
			h := s.harness(t)
			out, err := h.Run(c.action, map[string]any{"hostname": "mymachine1.contoso.com"}, "k1")
			what := fmt.Sprintf("%s, machineId dropped=%v", c.typ, drop)
			wantVendorError(t, what, out, err, "without a machineId")
			if err != nil && !strings.Contains(err.Error(), "a-no-machine") {
				t.Errorf("%s: err = %v; want it to name the action a-no-machine", what, err)
			}
			if len(s.posts) != 0 {
				t.Errorf("%s: sent %v", what, s.posts)
			}
		}
	}
}

// "List MachineActions API" documents one answer, 200 with a collection,
// and the end of the collection is the page without @odata.nextLink (or,
// paged by $skip, a page short of $top): no 404 ends it. A 404 to a next
// page, after page one answered the machine's history, is neither the end
// of the history (deciding on page one alone may miss the latest Isolate)
// nor "machine not found" (the machine was found, and its history
// answered): it was reported as NotFound, "not found", as if the machine
// did not exist. It must fail as the answer of something that is not the
// API (a proxy, a base_url rewriting the link: VendorError, no retry),
// naming the page, and send nothing. Both reads are checked: the history
// before acting, and the pending action after a 400 "already in progress".
func TestActionHistory404OnALaterPageFails(t *testing.T) {
	notFound := errorPage{http.StatusNotFound, map[string]any{"error": map[string]any{
		"code": "NotFound", "message": "General Not Found error message.", "target": "43f4cb08-8fac-4b65-9db1-745c2ae65f3a"}}}
	firstPage := func(r *http.Request, base string) any {
		c := collection(docAction(t, "a1", "Unisolate", "Succeeded", "2024-03-01T10:00:00Z"))
		q := r.URL.Query()
		q.Set("$skip", "1")
		c["@odata.nextLink"] = base + "/api/machineactions?" + q.Encode()
		return c
	}
	for _, c := range []struct {
		what       string
		inProgress bool
		page       func(n int, r *http.Request, base string) any
	}{
		{"history before acting", false, func(n int, r *http.Request, base string) any {
			if n == 0 {
				return firstPage(r, base)
			}
			return notFound
		}},
		{"pending action after 400 already in progress", true, func(n int, r *http.Request, base string) any {
			switch n {
			case 0: // the history before acting: one page, an Unisolate
				return collection(docAction(t, "a1", "Unisolate", "Succeeded", "2024-03-01T10:00:00Z"))
			case 1:
				return firstPage(r, base)
			}
			return notFound
		}},
	} {
		s := &historyStub{machines: connectortest.Sample(t, "machines.json"), page: c.page, inProgress: c.inProgress}
		h := s.harness(t)
		out, err := h.Run("defender.isolate_machine", map[string]any{"hostname": "mymachine1.contoso.com"}, "k1")
		wantVendorError(t, c.what, out, err, "HTTP 404 to page 2")
		wantPosts := 0
		if c.inProgress {
			wantPosts = 1 // the isolation refused with 400, nothing after
		}
		if len(s.posts) != wantPosts {
			t.Errorf("%s: sent %v", c.what, s.posts)
		}
	}
}

// "List MachineActions API": "Maximum page size is 10,000". A client that
// sends no $top (the connector always sends one, so nothing else reaches
// this) gets pages of 10,000 from the fake, each but the last with an
// @odata.nextLink (OData V4 server-driven paging: the absolute URL of the
// next page, followed as it is), and the pages together are every action
// once, in order; a history of exactly 10,000 is one page without a link.
func TestFakePagesAtTheMaximumWithoutTop(t *testing.T) {
	h := connectortest.New(t)
	fk := lab.Fake[*defender.Fake](h.Lab)
	token := h.Lab.Kit.IssueToken("defender", time.Hour)
	get := func(u string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d, %v", u, resp.StatusCode, err)
		}
		return m
	}
	ids := func(m map[string]any) []string {
		var out []string
		for _, v := range m["value"].([]any) {
			out = append(out, v.(map[string]any)["id"].(string))
		}
		return out
	}
	base := h.Lab.Connections()["defender"].BaseURL + "/api/machineactions?$filter="
	for _, c := range []struct {
		n     int
		pages []int
	}{{10001, []int{10000, 1}}, {10000, []int{10000}}, {20001, []int{10000, 10000, 1}}} {
		id := fk.AddMachine(fmt.Sprintf("big%d.corp.example.com", c.n), time.Now())
		fk.AddActions(id, c.n, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
		u := base + url.QueryEscape(fmt.Sprintf("machineId eq '%s'", id))
		var sizes []int
		seen := map[string]bool{}
		for len(sizes) <= len(c.pages) {
			m := get(u)
			page := ids(m)
			sizes = append(sizes, len(page))
			for _, a := range page {
				if seen[a] {
					t.Fatalf("%d actions: action %s on two pages", c.n, a)
				}
				seen[a] = true
			}
			next, _ := m["@odata.nextLink"].(string)
			if next == "" {
				break
			}
			if !strings.HasPrefix(next, h.Lab.Connections()["defender"].BaseURL+"/api/machineactions?") {
				t.Fatalf("%d actions: @odata.nextLink %q is not the next page's absolute URL", c.n, next)
			}
			u = next
		}
		if fmt.Sprint(sizes) != fmt.Sprint(c.pages) || len(seen) != c.n {
			t.Errorf("%d actions without $top: pages of %v (%d distinct actions), want %v", c.n, sizes, len(seen), c.pages)
		}
	}
}

// A 404 to the first page of the machine's action history is no more the
// API's answer than one to a later page: "List MachineActions API"
// answers 200 with a collection ("If successful, this method returns 200,
// Ok response code with a collection of machineAction entities"), and a
// $filter that matches nothing is that collection, empty; only "Get
// machineAction API" (GET /api/machineactions/{id}) documents a 404, for
// an id that matches no action. The pending-action read after a 400
// "already in progress" took a 404 to its first page for "no pending
// action", then failed retryable with "another action is in progress" (an
// action nobody read) and retried; the read before acting reported it as
// NotFound, as if the machine, found a moment before, did not exist. Both
// must fail as an answer that is not the API's (VendorError, no retry),
// naming the status, the page and the request, and send nothing more.
func TestActionHistory404OnTheFirstPageFails(t *testing.T) {
	notFound := errorPage{http.StatusNotFound, map[string]any{"error": map[string]any{
		"code": "NotFound", "message": "General Not Found error message.", "target": "43f4cb08-8fac-4b65-9db1-745c2ae65f3a"}}}
	for _, c := range []struct {
		what       string
		inProgress bool
		page       func(n int, r *http.Request, base string) any
	}{
		{"history before acting", false, func(n int, r *http.Request, base string) any { return notFound }},
		{"pending action after 400 already in progress", true, func(n int, r *http.Request, base string) any {
			if n == 0 { // the history before acting: one page, an Unisolate
				return collection(docAction(t, "a1", "Unisolate", "Succeeded", "2024-03-01T10:00:00Z"))
			}
			return notFound
		}},
	} {
		s := &historyStub{machines: connectortest.Sample(t, "machines.json"), page: c.page, inProgress: c.inProgress}
		h := s.harness(t)
		out, err := h.Run("defender.isolate_machine", map[string]any{"hostname": "mymachine1.contoso.com"}, "k1")
		wantVendorError(t, c.what, out, err, "HTTP 404 to page 1")
		if err != nil && !strings.Contains(err.Error(), "GET /api/machineactions?$filter=machineId eq '1e5bc9d7e413ddd7902c2932e418702b84d0cc07'") {
			t.Errorf("%s: err = %v; want it to name the request", c.what, err)
		}
		wantPosts := 0
		if c.inProgress {
			wantPosts = 1 // the isolation refused with 400, nothing after
		}
		if len(s.posts) != wantPosts {
			t.Errorf("%s: sent %v", c.what, s.posts)
		}
	}
}
