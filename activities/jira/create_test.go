package jira_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities/jira"

	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// The 201 of the first attempt is lost, and search may not show the new
// issue yet (Jira Cloud's search is eventually consistent). The retry must
// find the issue anyway and not open a second one: as a regular activity
// with the watermark saved in heartbeat details, and as a local activity
// (runs from workflows.RevLocalRecoverable), whose retry reads the
// watermark again.
func TestLostAnswerCreatesOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		local bool
		lag   time.Duration
	}{
		{"regular activity, stale search", false, time.Hour},
		{"local activity, stale search", true, time.Hour},
		{"local activity, search up to date", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := connectortest.New(t)
			lab.Fake[*jira.Fake](h.Lab).SetIndexLag(tc.lag)
			h.MustRun("jira.create_issue", map[string]any{"summary": "an older issue"}, "other-step")
			h.Lab.InjectFault(lab.Jira, lab.Fault{Status: 502, Lost: true})
			run := h.RunWithRetries
			if tc.local {
				run = h.RunLocalWithRetries
			}
			out, err := run("jira.create_issue", map[string]any{"summary": "lost answer"}, 4)
			if err != nil {
				t.Fatal(err)
			}
			if out["already"] != true || out["key"] != "SEC-2" {
				t.Errorf("output = %v", out)
			}
			if n := h.Lab.Changes(lab.Jira, "create_issue", ""); n != 2 {
				t.Errorf("issues created = %d, want 2 (one per step)", n)
			}
		})
	}
}

// The same step run again (a reset workflow) while search is stale.
func TestRepeatUnderStaleSearchCreatesOnce(t *testing.T) {
	h := connectortest.New(t)
	lab.Fake[*jira.Fake](h.Lab).SetIndexLag(time.Hour)
	first := h.MustRun("jira.create_issue", map[string]any{"summary": "x"}, "step-a")
	again := h.MustRun("jira.create_issue", map[string]any{"summary": "x"}, "step-a")
	if again["already"] != true || again["key"] != first["key"] {
		t.Errorf("first %v, again %v", first, again)
	}
	other := h.MustRun("jira.create_issue", map[string]any{"summary": "x"}, "step-b")
	if other["already"] != false || other["key"] == first["key"] {
		t.Errorf("another step got %v", other)
	}
	if n := h.Lab.Changes(lab.Jira, "create_issue", ""); n != 2 {
		t.Errorf("issues created = %d, want 2", n)
	}
}

// The scan reads on past a full page without the step's label: with 100
// other issues above the watermark (search shows none), the step's own is
// on the second page and is found there.
func TestRepeatFindsIssueOnSecondScanPage(t *testing.T) {
	h := connectortest.New(t)
	lab.Fake[*jira.Fake](h.Lab).SetIndexLag(time.Hour)
	for i := range 100 {
		h.MustRun("jira.create_issue", map[string]any{"summary": "other"}, fmt.Sprintf("other-%d", i))
	}
	first := h.MustRun("jira.create_issue", map[string]any{"summary": "x"}, "step-a")
	if first["key"] != "SEC-101" {
		t.Fatalf("first %v", first)
	}
	again := h.MustRun("jira.create_issue", map[string]any{"summary": "x"}, "step-a")
	if again["already"] != true || again["key"] != "SEC-101" {
		t.Errorf("again %v, want the issue SEC-101 found on the scan's second page", again)
	}
	if n := h.Lab.Changes(lab.Jira, "create_issue", ""); n != 101 {
		t.Errorf("issues created = %d, want 101", n)
	}
}

// Bulk fetch answers an issue Jira could not load this time in issueErrors
// (unknown keys are left out): while search is stale that issue may be the
// step's own, so the repeat fails as unavailable (retried) instead of
// creating a second one, and finds it once it loads.
func TestUnloadedIssueIsNotAbsent(t *testing.T) {
	h := connectortest.New(t)
	fk := lab.Fake[*jira.Fake](h.Lab)
	fk.SetIndexLag(time.Hour)
	h.MustRun("jira.create_issue", map[string]any{"summary": "older"}, "other-step")
	first := h.MustRun("jira.create_issue", map[string]any{"summary": "x"}, "step-a")
	fk.SetUnloadable(first["key"].(string))
	_, err := h.Run("jira.create_issue", map[string]any{"summary": "x"}, "step-a")
	if ae := connectortest.AppError(t, err); ae.Type() != "VendorUnavailable" || ae.NonRetryable() {
		t.Errorf("repeat while %s cannot be loaded: %v", first["key"], err)
	}
	if n := h.Lab.Changes(lab.Jira, "create_issue", ""); n != 2 {
		t.Errorf("issues created = %d, want 2", n)
	}
	fk.SetUnloadable()
	if again := h.MustRun("jira.create_issue", map[string]any{"summary": "x"}, "step-a"); again["already"] != true || again["key"] != first["key"] {
		t.Errorf("first %v, again %v", first, again)
	}
}

// The fake finds an issue by its key in any case and by its numeric id,
// as Jira's GET /rest/api/3/issue/{issueIdOrKey} does, and answers Jira's
// 404 for any other.
func TestFakeFindsIssueByKeyOrID(t *testing.T) {
	h := connectortest.New(t)
	fk := lab.Fake[*jira.Fake](h.Lab)
	for range 3 {
		h.MustRun("jira.create_issue", map[string]any{"summary": "x"}, "step-"+time.Now().Format("150405.000000000"))
	}
	base := fk.Connections()["jira"].BaseURL + "/rest/api/3/issue/"
	for _, tc := range []struct {
		ref  string
		code int
		key  string
	}{
		{"SEC-2", 200, "SEC-2"}, {"sec-3", 200, "SEC-3"}, {"10001", 200, "SEC-1"}, {"SEC-9", 404, ""}, {"99999", 404, ""},
	} {
		req, _ := http.NewRequest("GET", base+tc.ref, nil)
		req.SetBasicAuth("soc@example.com", "lab-jira-token") // the lab's public test credentials
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Key string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || body.Key != tc.key {
			t.Errorf("GET issue/%s: %d %q, want %d %q", tc.ref, resp.StatusCode, body.Key, tc.code, tc.key)
		}
	}
}

// Search by project answers newest key first, a page at a time, and says
// whether the page is the last (isLast), as Jira's search/jql does.
func TestFakeSearchByProjectNewestFirst(t *testing.T) {
	h := connectortest.New(t)
	fk := lab.Fake[*jira.Fake](h.Lab)
	fk.SetIndexLag(0)
	for i := range 3 {
		h.MustRun("jira.create_issue", map[string]any{"summary": "x"}, "step-"+string(rune('a'+i)))
	}
	base := fk.Connections()["jira"].BaseURL + "/rest/api/3/search/jql?jql=" + url.QueryEscape(`project = "SEC" ORDER BY key DESC`)
	for _, tc := range []struct {
		max    string
		keys   []string
		isLast bool
	}{
		{"2", []string{"SEC-3", "SEC-2"}, false},
		{"3", []string{"SEC-3", "SEC-2", "SEC-1"}, true},
		{"50", []string{"SEC-3", "SEC-2", "SEC-1"}, true},
	} {
		req, _ := http.NewRequest("GET", base+"&maxResults="+tc.max, nil)
		req.SetBasicAuth("soc@example.com", "lab-jira-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Issues []struct{ Key string }
			IsLast bool
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		var keys []string
		for _, is := range body.Issues {
			keys = append(keys, is.Key)
		}
		if !slices.Equal(keys, tc.keys) || body.IsLast != tc.isLast {
			t.Errorf("maxResults %s: %v isLast %v, want %v %v", tc.max, keys, body.IsLast, tc.keys, tc.isLast)
		}
	}
}

// Search and bulk fetch answer the fields asked for and no others, as
// Jira does ("use it to retrieve a subset of fields"), so a connector that
// reads a field it did not ask for fails here as it would against Jira.
func TestFakeAnswersRequestedFieldsOnly(t *testing.T) {
	h := connectortest.New(t)
	fk := lab.Fake[*jira.Fake](h.Lab)
	fk.SetIndexLag(0)
	h.MustRun("jira.create_issue", map[string]any{"summary": "x", "labels": []any{"soc"}}, "step-a")
	base := fk.Connections()["jira"].BaseURL + "/rest/api/3/"
	do := func(method, path, body string) []string {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.SetBasicAuth("soc@example.com", "lab-jira-token") // the lab's public test credentials
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res struct {
			Issues []struct {
				Fields map[string]json.RawMessage `json:"fields"`
			} `json:"issues"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 200 || len(res.Issues) != 1 {
			t.Fatalf("%s %s: %d %v %+v", method, path, resp.StatusCode, err, res)
		}
		return slices.Sorted(maps.Keys(res.Issues[0].Fields))
	}
	jql := url.QueryEscape(`project = "SEC" ORDER BY key DESC`)
	for _, tc := range []struct {
		name, method, path, body string
		want                     []string
	}{
		{"search, fields=summary", "GET", "search/jql?fields=summary&jql=" + jql, "", []string{"summary"}},
		{"search, two fields in one value", "GET", "search/jql?fields=summary,labels&jql=" + jql, "", []string{"labels", "summary"}},
		{"search POST, labels", "POST", "search/jql", `{"jql":"project = SEC","fields":["labels"]}`, []string{"labels"}},
		{"bulkfetch, labels", "POST", "issue/bulkfetch", `{"issueIdsOrKeys":["SEC-1"],"fields":["labels"]}`, []string{"labels"}},
		{"bulkfetch, every navigable field", "POST", "issue/bulkfetch", `{"issueIdsOrKeys":["SEC-1"],"fields":["*navigable"]}`, []string{"created", "labels", "summary"}},
		{"bulkfetch, all but one", "POST", "issue/bulkfetch", `{"issueIdsOrKeys":["SEC-1"],"fields":["*all","-created"]}`, []string{"labels", "summary"}},
		{"bulkfetch, none asked", "POST", "issue/bulkfetch", `{"issueIdsOrKeys":["SEC-1"]}`, []string{"created", "labels", "summary"}},
	} {
		if got := do(tc.method, tc.path, tc.body); !slices.Equal(got, tc.want) {
			t.Errorf("%s: fields %v, want %v", tc.name, got, tc.want)
		}
	}
}
