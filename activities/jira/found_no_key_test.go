package jira_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// A retried create first searches for the issue carrying the step's label
// (GET /rest/api/3/search/jql). Jira lists each issue found with its id,
// key and self ("Search for issues using JQL enhanced search (GET)": 200
// SearchAndReconcileResults, issues[] of {expand, fields, id, key, self};
// testdata/README.md). An issue
// found without its key (a proxy's JSON, a base_url that is not the site)
// is no ticket anyone can open: the step fails saying so, instead of
// reporting the issue already created (already: true) with key "" and url
// …/browse/, and nothing is created.
func TestFoundIssueWithoutKeyFails(t *testing.T) {
	for _, found := range []string{
		`{"issues":[{}]}`,
		`{"isLast":true,"issues":[{"expand":"","fields":{"summary":"s"},"id":"10002","self":"https://your-domain.atlassian.net/rest/api/3/issue/10002"}]}`,
		`{"isLast":true,"issues":[{"expand":"","fields":{"summary":"s"},"id":"10002","key":"","self":"https://your-domain.atlassian.net/rest/api/3/issue/10002"}]}`,
	} {
		var mu sync.Mutex
		var creates int
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			switch {
			case r.URL.Path == "/rest/api/3/search/jql" && strings.HasPrefix(r.URL.Query().Get("jql"), "labels"):
				_, _ = w.Write([]byte(found))
			case r.URL.Path == "/rest/api/3/search/jql":
				_, _ = w.Write([]byte(`{"isLast":true,"issues":[]}`))
			case r.Method == http.MethodPost && r.URL.Path == "/rest/api/3/issue":
				creates++
				w.WriteHeader(http.StatusCreated)
				_, _ = w.Write([]byte(`{"id":"10000","key":"SEC-1","self":"https://your-domain.atlassian.net/rest/api/3/issue/10000"}`))
			default:
				_, _ = w.Write([]byte(`{"issues":[],"issueErrors":[]}`))
			}
		}))
		h := connectortest.New(t)
		h.Env.Connections["jira"] = activities.Connection{Type: "jira", BaseURL: srv.URL,
			Options: map[string]string{"email": "soc@example.com", "project": "SEC"},
			Secrets: map[string]activities.SecretRef{"api_token": {Lab: "jira-token"}}}
		out, err := h.Run("jira.create_issue", map[string]any{"summary": "s"}, "k1")
		srv.Close()
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || ae.Type() != "VendorError" || !ae.NonRetryable() || !strings.Contains(err.Error(), "without an issue key") {
			t.Errorf("search answer %s: output %v, err = %v; want a non-retryable VendorError saying the issue found has no key", found, out, err)
		}
		if creates != 0 {
			t.Errorf("search answer %s: %d issue(s) created", found, creates)
		}
	}
}
