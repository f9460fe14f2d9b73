package jira

import (
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/labkit"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Jira Cloud fake (REST API v3): create issue (description must be ADF),
// search by JQL label (/rest/api/3/search/jql; the removed
// /rest/api/3/search answers 410 like Jira Cloud), comments with entity
// properties. Errors: {"errorMessages":[…],"errors":{field:msg}}.
//
// Search is eventually consistent, as Atlassian documents for
// /rest/api/3/search/jql ("Search After Write with Search And Reconcile":
// no read-after-write consistency, stale for seconds to minutes): an issue
// shows in search results only IndexLag after it was created
// (SetJiraIndexLag; default 2s), unless its id is listed in the POST
// form's reconcileIssues (up to 50). Reads by key or id (GET issue, POST
// /rest/api/3/issue/bulkfetch, up to 100 keys, unknown ones left out) are
// strongly consistent.

// sampleCreated is the documented 201 answer of issue creation
// (testdata/README.md).
var (
	//go:embed testdata/create-issue-201.json
	samples       embed.FS
	sampleCreated = labkit.Sample(samples, "testdata/create-issue-201.json")
)

type jiraState struct {
	indexLag time.Duration
	nextID   int
	nextKey  map[string]int
	nextCID  int
	issues   []*jiraIssue
	// byKey (upper-cased key) and byID find an issue without a scan: the
	// bench creates thousands, and its CPU per run should not grow with them.
	byKey, byID map[string]*jiraIssue
	// byLabel lists the issues with a label, oldest first (labels do not
	// change after creation here): the connector searches by label before
	// each create.
	byLabel  map[string][]*jiraIssue
	projects map[string]bool
	types    map[string]bool
	// unloadable issues are answered in bulkfetch's issueErrors, as Jira
	// does for one it "can't return due to a retriable error".
	unloadable map[string]bool
}

// fields is the issue's "fields" object in a search or bulkfetch answer:
// the requested ones only, as Jira answers ("use it to retrieve a subset
// of fields"; "*all" and "*navigable" ask for every field, a "-name"
// leaves one out), or def when none is requested. A connector that reads
// a field it did not ask for finds it missing here, as against Jira.
func (is *jiraIssue) fields(requested []string, def ...string) jiraFieldsOut {
	want := map[string]bool{}
	names := requested
	if len(names) == 0 {
		names = def
	}
	for _, f := range names {
		switch f = strings.TrimSpace(f); {
		case f == "*all" || f == "*navigable":
			want["summary"], want["labels"], want["created"] = true, true, true
		case strings.HasPrefix(f, "-"):
			delete(want, f[1:])
		default:
			want[f] = true
		}
	}
	var out jiraFieldsOut
	if want["summary"] {
		out.Summary = &is.summary
	}
	if want["labels"] {
		out.Labels = &is.labels
		if is.labels == nil {
			out.Labels = &[]string{} // Jira answers [] for an issue without labels
		}
	}
	if want["created"] {
		c := is.created.Format("2006-01-02T15:04:05.000-0700")
		out.Created = &c
	}
	return out
}

// jiraFieldsOut is the fields of an issue in an answer; a field not asked
// for is left out (nil).
type jiraFieldsOut struct {
	Summary *string   `json:"summary,omitempty"`
	Labels  *[]string `json:"labels,omitempty"`
	Created *string   `json:"created,omitempty"`
}

// jiraIssueOut is an issue in a search or bulkfetch answer.
type jiraIssueOut struct {
	ID     string        `json:"id"`
	Key    string        `json:"key"`
	Self   string        `json:"self"`
	Fields jiraFieldsOut `json:"fields"`
}

type jiraIssue struct {
	id, key, project, issueType, summary string
	description                          any
	labels                               []string
	comments                             []*jiraComment
	created                              time.Time
}

type jiraComment struct {
	id      string
	body    any
	props   map[string]any
	created time.Time
}

func newJiraState() *jiraState {
	return &jiraState{indexLag: 2 * time.Second, nextID: 10000, nextKey: map[string]int{}, nextCID: 20000,
		byKey: map[string]*jiraIssue{}, byID: map[string]*jiraIssue{}, byLabel: map[string][]*jiraIssue{},
		projects: map[string]bool{"SEC": true, "OPS": true},
		types:    map[string]bool{"Task": true, "Bug": true, "Incident": true, "Story": true}}
}

func fakeError(w http.ResponseWriter, status int, messages []string, fields map[string]string) {
	if messages == nil {
		messages = []string{}
	}
	if fields == nil {
		fields = map[string]string{}
	}
	labkit.WriteJSON(w, status, map[string]any{"errorMessages": messages, "errors": fields})
}

// jsonBody reads a JSON object body, or answers Jira's 415 (not JSON) or
// 400 (unreadable) and returns false.
func jsonBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	if !labkit.IsJSON(r) {
		fakeError(w, http.StatusUnsupportedMediaType, []string{"Unsupported Media Type: send application/json"}, nil)
		return nil, false
	}
	body, err := labkit.DecodeBody(r)
	if err != nil {
		fakeError(w, http.StatusBadRequest, []string{"Unexpected character in the request body."}, nil)
		return nil, false
	}
	return body, true
}

func jiraFault(w http.ResponseWriter, f *labkit.Fault) {
	switch f.Status {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", labkit.Seconds(f.RetryAfter))
		w.Header().Set("X-RateLimit-Reset", time.Now().Add(f.RetryAfter).UTC().Format("2006-01-02T15:04Z")) // the documented form, to the minute
		fakeError(w, f.Status, []string{"Rate limit exceeded."}, nil)
	case http.StatusUnauthorized:
		fakeError(w, f.Status, []string{"Client must be authenticated to access this resource."}, nil)
	default:
		fakeError(w, f.Status, []string{http.StatusText(f.Status)}, nil)
	}
}

// validADF checks the shape Jira requires of an ADF document.
// fakeTextMax is Jira Cloud's limit on a description or a comment:
// 32,767 characters, or 400 "The entered text is too long. It exceeds the
// allowed limit of 32,767 characters." and nothing is created
// (JRACLOUD-68949, JRACLOUD-59124). The lab counts the ADF document as
// sent (its JSON, in UTF-16 units as Java counts), the stricter reading.
const fakeTextMax = 32767

// tooLong reports whether an ADF field is longer than Jira takes.
func tooLong(v any) bool {
	b, err := json.Marshal(v)
	return err == nil && len(utf16.Encode([]rune(string(b)))) > fakeTextMax
}

const fakeTooLongMsg = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."

func validADF(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || m["type"] != "doc" {
		return false
	}
	if ver, ok := m["version"].(json.Number); !ok || ver.String() != "1" {
		return false
	}
	_, ok = m["content"].([]any)
	return ok && validADFNodes(m["content"])
}

func validADFNodes(v any) bool {
	nodes, ok := v.([]any)
	if !ok {
		return false
	}
	for _, n := range nodes {
		m, ok := n.(map[string]any)
		if !ok {
			return false
		}
		t, _ := m["type"].(string)
		switch t {
		case "text":
			if s, _ := m["text"].(string); s == "" {
				return false // vendorName rejects empty text nodes
			}
		case "paragraph", "hardBreak", "heading", "bulletList", "orderedList", "listItem", "codeBlock", "blockquote", "rule":
			if c, ok := m["content"]; ok && !validADFNodes(c) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// adfText flattens ADF to plain text for the lab's state and UI.
func adfText(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			switch x["type"] {
			case "text":
				s, _ := x["text"].(string)
				b.WriteString(s)
			case "hardBreak":
				b.WriteString("\n")
			}
			walk(x["content"])
			if x["type"] == "paragraph" {
				b.WriteString("\n\n")
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return strings.TrimSpace(b.String())
}

var (
	jqlLabelRe   = regexp.MustCompile(`^(?:project\s*=\s*"?([A-Za-z0-9_]+)"?\s+AND\s+)?labels\s*=\s*"?([^"\s]+)"?(?:\s+ORDER\s+BY\s+.*)?$`)
	jqlProjectRe = regexp.MustCompile(`^project\s*=\s*"?([A-Za-z0-9_]+)"?(?:\s+ORDER\s+BY\s+(?:key|created)\s+DESC)?$`)
)

// SetIndexLag sets how long a new issue stays out of search results.
func (fk *Fake) SetIndexLag(d time.Duration) {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	fk.indexLag = d
}

// SetUnloadable makes bulkfetch answer these issue keys in issueErrors
// instead of issues (none when called without keys).
func (fk *Fake) SetUnloadable(keys ...string) {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	fk.unloadable = map[string]bool{}
	for _, k := range keys {
		fk.unloadable[strings.ToUpper(k)] = true
	}
}

// Routes implements labkit.Fake.
func (fk *Fake) Routes(mux *http.ServeMux) {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(jiraEmail+":"+jiraToken))
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != want {
				fakeError(w, http.StatusUnauthorized, []string{"Client must be authenticated to access this resource."}, nil)
				return
			}
			h(w, r)
		}
	}
	self := func(r *http.Request, path string) string { return "http://" + r.Host + "/jira/rest/api/3/" + path }
	// find takes the key in any case, as Jira does, or the numeric id.
	find := func(key string) *jiraIssue {
		if is := fk.byKey[strings.ToUpper(key)]; is != nil {
			return is
		}
		return fk.byID[key]
	}
	// issue finds the issue of the path's {key}, or answers Jira's 404 and
	// returns nil. Callers hold Mu.
	issue := func(w http.ResponseWriter, r *http.Request) *jiraIssue {
		is := find(r.PathValue("key"))
		if is == nil {
			fakeError(w, http.StatusNotFound, []string{"Issue does not exist or you do not have permission to see it."}, nil)
		}
		return is
	}
	// with runs h on the issue of the path's {key}, holding Mu.
	with := func(h func(w http.ResponseWriter, r *http.Request, is *jiraIssue)) http.HandlerFunc {
		return auth(func(w http.ResponseWriter, r *http.Request) {
			fk.Mu.Lock()
			defer fk.Mu.Unlock()
			if is := issue(w, r); is != nil {
				h(w, r, is)
			}
		})
	}
	fk.Handle(mux, vendorName, "GET /jira/rest/api/3/myself", labkit.ReadRoute, jiraFault, auth(func(w http.ResponseWriter, r *http.Request) {
		labkit.WriteJSON(w, http.StatusOK, map[string]any{"accountId": "5b10ac8d82e05b22cc7d4ef5", "emailAddress": jiraEmail, "displayName": "SOC automation", "active": true})
	}))
	fk.Handle(mux, vendorName, "GET /jira/rest/api/3/search", labkit.ReadRoute, jiraFault, auth(func(w http.ResponseWriter, r *http.Request) {
		fakeError(w, http.StatusGone, []string{"The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"}, nil)
	}))
	search := func(w http.ResponseWriter, r *http.Request, jql string, reconcile map[string]bool, maxResults int, fields []string) {
		jql = strings.TrimSpace(jql)
		label, project := "", ""
		byKey := false
		if m := jqlLabelRe.FindStringSubmatch(jql); m != nil {
			project, label = m[1], m[2]
		} else if m := jqlProjectRe.FindStringSubmatch(jql); m != nil {
			project, byKey = m[1], true
		} else {
			fakeError(w, http.StatusBadRequest, []string{"Error in the JQL Query: the lab supports [project = X AND] labels = \"L\" [ORDER BY …] and project = X [ORDER BY key DESC]"}, nil)
			return
		}
		if maxResults <= 0 || maxResults > 5000 {
			maxResults = 50 // the documented default page size
		}
		fk.Mu.Lock()
		defer fk.Mu.Unlock()
		now := time.Now()
		var hits []*jiraIssue
		scan := slices.Values(fk.issues)
		switch {
		case label != "":
			scan = slices.Values(fk.byLabel[label])
		case byKey:
			// Keys of a project grow with creation: newest first is
			// ORDER BY key DESC, and the scan stops after one page.
			scan = func(yield func(*jiraIssue) bool) {
				for _, is := range slices.Backward(fk.issues) {
					if !yield(is) {
						return
					}
				}
			}
		}
		for is := range scan {
			if now.Sub(is.created) < fk.indexLag && !reconcile[is.id] {
				continue // not indexed yet
			}
			if project != "" && !strings.EqualFold(is.project, project) {
				continue
			}
			if label != "" && !slices.Contains(is.labels, label) {
				continue
			}
			hits = append(hits, is)
			if len(hits) > maxResults {
				break // enough to fill the page and know it is not the last
			}
		}
		out := []jiraIssueOut{}
		for _, is := range hits {
			if len(out) == maxResults {
				break
			}
			out = append(out, jiraIssueOut{ID: is.id, Key: is.key, Self: self(r, "issue/"+is.id), Fields: is.fields(fields, "summary", "labels")})
		}
		labkit.WriteJSON(w, http.StatusOK, map[string]any{"issues": out, "isLast": len(hits) <= maxResults})
	}
	fk.Handle(mux, vendorName, "GET /jira/rest/api/3/search/jql", labkit.ReadRoute, jiraFault, auth(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("maxResults"))
		var fields []string
		for _, f := range r.URL.Query()["fields"] {
			fields = append(fields, strings.Split(f, ",")...)
		}
		search(w, r, r.URL.Query().Get("jql"), nil, n, fields)
	}))
	fk.Handle(mux, vendorName, "POST /jira/rest/api/3/search/jql", labkit.ReadRoute, jiraFault, auth(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			JQL             string            `json:"jql"`
			MaxResults      int               `json:"maxResults"`
			Fields          []string          `json:"fields"`
			ReconcileIssues []json.RawMessage `json:"reconcileIssues"`
		}
		if !labkit.IsJSON(r) || json.NewDecoder(r.Body).Decode(&body) != nil {
			fakeError(w, http.StatusBadRequest, []string{"Unexpected character in the request body."}, nil)
			return
		}
		if len(body.ReconcileIssues) > 50 {
			fakeError(w, http.StatusBadRequest, []string{"reconcileIssues: at most 50 issue ids"}, nil)
			return
		}
		rec := map[string]bool{}
		for _, id := range body.ReconcileIssues {
			rec[strings.Trim(string(id), `"`)] = true
		}
		search(w, r, body.JQL, rec, body.MaxResults, body.Fields)
	}))
	fk.Handle(mux, vendorName, "POST /jira/rest/api/3/issue/bulkfetch", labkit.ReadRoute, jiraFault, auth(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Keys   []string `json:"issueIdsOrKeys"`
			Fields []string `json:"fields"`
		}
		if !labkit.IsJSON(r) || json.NewDecoder(r.Body).Decode(&body) != nil {
			fakeError(w, http.StatusBadRequest, []string{"Unexpected character in the request body."}, nil)
			return
		}
		if len(body.Keys) == 0 || len(body.Keys) > 100 {
			fakeError(w, http.StatusBadRequest, []string{"issueIdsOrKeys: between 1 and 100 issue ids or keys"}, nil)
			return
		}
		fk.Mu.Lock()
		defer fk.Mu.Unlock()
		out, errs := []jiraIssueOut{}, []map[string]any{}
		for _, k := range body.Keys {
			switch is := find(k); {
			case is != nil && fk.unloadable[is.key]:
				errs = append(errs, map[string]any{"id": is.id, "message": "Issue could not be loaded. Try again later."})
			case is != nil:
				out = append(out, jiraIssueOut{ID: is.id, Key: is.key, Self: self(r, "issue/"+is.id), Fields: is.fields(body.Fields, "summary", "labels", "created")})
			}
		}
		labkit.WriteJSON(w, http.StatusOK, map[string]any{"issues": out, "issueErrors": errs})
	}))
	fk.Handle(mux, vendorName, "POST /jira/rest/api/3/issue", labkit.MutateRoute, jiraFault, auth(func(w http.ResponseWriter, r *http.Request) {
		body, ok := jsonBody(w, r)
		if !ok {
			return
		}
		fields, _ := body["fields"].(map[string]any)
		errs := map[string]string{}
		project, _ := fields["project"].(map[string]any)
		pkey, _ := project["key"].(string)
		summary, _ := fields["summary"].(string)
		itype, _ := fields["issuetype"].(map[string]any)
		tname, _ := itype["name"].(string)
		fk.Mu.Lock()
		defer fk.Mu.Unlock()
		if !fk.projects[strings.ToUpper(pkey)] {
			errs["project"] = "valid project is required"
		}
		switch {
		case strings.TrimSpace(summary) == "":
			errs["summary"] = "You must specify a summary of the issue."
		case strings.ContainsAny(summary, "\r\n"):
			errs["summary"] = "The summary is invalid because it contains newline characters."
		case len(utf16.Encode([]rune(summary))) > 255: // Java's String.length
			errs["summary"] = "Summary must be less than 255 characters."
		}
		if !fk.types[tname] {
			errs["issuetype"] = "Specify a valid issue type"
		}
		if d, ok := fields["description"]; ok && d != nil && !validADF(d) {
			errs["description"] = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
		} else if ok && tooLong(d) {
			errs["description"] = fakeTooLongMsg
		}
		var labels []string
		if raw, ok := fields["labels"]; ok {
			list, _ := raw.([]any)
			for _, v := range list {
				s, _ := v.(string)
				if s == "" || strings.ContainsAny(s, " \t\n") {
					errs["labels"] = fmt.Sprintf("The label '%s' contains spaces which is invalid.", s)
				}
				labels = append(labels, s)
			}
		}
		if len(errs) > 0 {
			fakeError(w, http.StatusBadRequest, nil, errs)
			return
		}
		pkey = strings.ToUpper(pkey)
		fk.nextID++
		fk.nextKey[pkey]++
		is := &jiraIssue{id: fmt.Sprint(fk.nextID), key: fmt.Sprintf("%s-%d", pkey, fk.nextKey[pkey]), project: pkey,
			issueType: tname, summary: summary, description: fields["description"], labels: labels, created: time.Now().UTC()}
		fk.issues = append(fk.issues, is)
		fk.byKey[is.key], fk.byID[is.id] = is, is
		for _, l := range slices.Compact(slices.Sorted(slices.Values(labels))) {
			fk.byLabel[l] = append(fk.byLabel[l], is)
		}
		fk.Record(r, vendorName, "create_issue", is.key, true, http.StatusCreated, summary)
		labkit.WriteJSON(w, http.StatusCreated, labkit.Overlay(sampleCreated, map[string]any{"id": is.id, "key": is.key, "self": self(r, "issue/"+is.id)}))
	}))
	fk.Handle(mux, vendorName, "GET /jira/rest/api/3/issue/{key}", labkit.ReadRoute, jiraFault, with(func(w http.ResponseWriter, r *http.Request, is *jiraIssue) {
		labkit.WriteJSON(w, http.StatusOK, map[string]any{"id": is.id, "key": is.key, "self": self(r, "issue/"+is.id),
			"fields": map[string]any{"summary": is.summary, "labels": is.labels, "description": is.description,
				"issuetype": map[string]any{"name": is.issueType}, "project": map[string]any{"key": is.project}}})
	}))
	comment := func(r *http.Request, c *jiraComment, withProps bool) map[string]any {
		m := map[string]any{"id": c.id, "self": self(r, "comment/"+c.id), "body": c.body, "created": c.created.Format(time.RFC3339)}
		if withProps {
			props := []map[string]any{}
			for _, k := range labkit.SortedKeys(c.props) {
				props = append(props, map[string]any{"key": k, "value": c.props[k]})
			}
			m["properties"] = props
		}
		return m
	}
	fk.Handle(mux, vendorName, "GET /jira/rest/api/3/issue/{key}/comment", labkit.ReadRoute, jiraFault, with(func(w http.ResponseWriter, r *http.Request, is *jiraIssue) {
		list := []map[string]any{}
		for i := len(is.comments) - 1; i >= 0; i-- { // newest first (orderBy=-created)
			list = append(list, comment(r, is.comments[i], false))
		}
		labkit.WriteJSON(w, http.StatusOK, map[string]any{"startAt": 0, "maxResults": 100, "total": len(list), "comments": list})
	}))
	fk.Handle(mux, vendorName, "POST /jira/rest/api/3/issue/{key}/comment", labkit.MutateRoute, jiraFault, auth(func(w http.ResponseWriter, r *http.Request) {
		body, ok := jsonBody(w, r)
		if !ok {
			return
		}
		if !validADF(body["body"]) {
			fakeError(w, http.StatusBadRequest, nil, map[string]string{"comment": "Comment body is not valid: it must be an Atlassian Document"})
			return
		}
		if tooLong(body["body"]) {
			fakeError(w, http.StatusBadRequest, nil, map[string]string{"comment": fakeTooLongMsg})
			return
		}
		props := map[string]any{}
		if raw, ok := body["properties"].([]any); ok {
			for _, p := range raw {
				pm, _ := p.(map[string]any)
				k, _ := pm["key"].(string)
				if k == "" {
					fakeError(w, http.StatusBadRequest, nil, map[string]string{"properties": "Property key is required"})
					return
				}
				props[k] = pm["value"]
			}
		}
		fk.Mu.Lock()
		defer fk.Mu.Unlock()
		is := issue(w, r)
		if is == nil {
			return
		}
		fk.nextCID++
		c := &jiraComment{id: fmt.Sprint(fk.nextCID), body: body["body"], props: props, created: time.Now().UTC()}
		is.comments = append(is.comments, c)
		fk.Record(r, vendorName, "add_comment", is.key, true, http.StatusCreated, "")
		labkit.WriteJSON(w, http.StatusCreated, comment(r, c, false))
	}))
	fk.Handle(mux, vendorName, "POST /jira/rest/api/3/comment/list", labkit.ReadRoute, jiraFault, auth(func(w http.ResponseWriter, r *http.Request) {
		body, ok := jsonBody(w, r)
		if !ok {
			return
		}
		raw, _ := body["ids"].([]any)
		want := map[string]bool{}
		for _, v := range raw {
			n, ok := v.(json.Number)
			if !ok {
				fakeError(w, http.StatusBadRequest, []string{"ids must be a list of numbers"}, nil)
				return
			}
			want[n.String()] = true
		}
		withProps := strings.Contains(r.URL.Query().Get("expand"), "properties")
		fk.Mu.Lock()
		defer fk.Mu.Unlock()
		values := []map[string]any{}
		for _, is := range fk.issues {
			for _, c := range is.comments {
				if want[c.id] {
					values = append(values, comment(r, c, withProps))
				}
			}
		}
		labkit.WriteJSON(w, http.StatusOK, map[string]any{"values": values, "isLast": true, "startAt": 0, "maxResults": 1000, "total": len(values)})
	}))
}

// vendorName is the fake's name: the connection type, the key of its
// faults, calls and requests.
const vendorName = "jira"

// Lab credentials. They are public test constants, not secrets.
const (
	jiraEmail = "soc@example.com"
	jiraToken = "lab-jira-token"
)

// Fake is the lab's Jira Cloud fake (see the top of this file).
type Fake struct {
	labkit.Base
	*jiraState
}

// NewFake returns the fake, serving on the lab of k.
func NewFake(k *labkit.Kit) *Fake {
	return &Fake{Base: labkit.NewBase(k, vendorName), jiraState: newJiraState()}
}

// Connections implements labkit.Fake.
func (fk *Fake) Connections() map[string]connector.Connection {
	return map[string]connector.Connection{
		vendorName: {Type: vendorName, BaseURL: fk.URL + "/jira",
			Options: map[string]string{"email": jiraEmail, "project": "SEC"},
			Secrets: map[string]connector.SecretRef{"api_token": labkit.Lit(jiraToken)}},
	}
}

// Snapshot implements labkit.Fake: the issues with their comments.
func (fk *Fake) Snapshot(st *labkit.State) {
	for _, is := range fk.issues {
		t := labkit.Ticket{ID: is.id, Key: is.key, Project: is.project, Type: is.issueType, Summary: is.summary,
			Description: adfText(is.description), Labels: append([]string{}, is.labels...), Comments: []labkit.Comment{}, Created: is.created}
		for _, c := range is.comments {
			t.Comments = append(t.Comments, labkit.Comment{ID: c.id, Body: adfText(c.body), Properties: c.props, Created: c.created})
		}
		st.Tickets = append(st.Tickets, t)
	}
}
