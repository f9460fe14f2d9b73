package jira_test

import (
	"encoding/json"
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

// A retried add_comment first looks for the comment an earlier attempt
// posted: the latest comments (GET /rest/api/3/issue/{key}/comment,
// "Get comments": PageOfComments, comments[] of Comment with id, self,
// body, created…), then their properties (POST /rest/api/3/comment/list
// ?expand=properties, "Get comments by IDs": PageBeanComment, values[] of
// Comment with id, self, properties[]). Jira always sends a comment's id
// (testdata/README.md). A comment carrying this step's marker but no id,
// or a listed comment without one (its properties cannot be asked for),
// comes from a proxy or another API: it was skipped, and the retry posted
// the comment a second time. It must fail saying so, and post nothing.
func TestFoundCommentWithoutIDFails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inList bool // dropped from the "Get comments" page rather than from "Get comments by IDs"
		drop   func(map[string]any)
	}{
		{"id absent", false, func(c map[string]any) { delete(c, "id") }},
		{"id empty", false, func(c map[string]any) { c["id"] = "" }},
		{"id absent from the issue's comments", true, func(c map[string]any) { delete(c, "id") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var posts int
			var props any // what the first attempt posted
			comment := func() map[string]any {
				return map[string]any{"id": "10000", "self": "https://your-domain.atlassian.net/rest/api/3/issue/10010/comment/10000",
					"body": map[string]any{"type": "doc", "version": 1, "content": []any{}}, "created": "2021-01-17T12:34:00.000+0000"}
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				switch {
				case r.Method == http.MethodGet && r.URL.Path == "/rest/api/3/issue/SEC-1/comment":
					list := []any{}
					if props != nil {
						c := comment()
						if tc.inList {
							tc.drop(c)
						}
						list = append(list, c)
					}
					_ = json.NewEncoder(w).Encode(map[string]any{"startAt": 0, "maxResults": 100, "total": len(list), "comments": list})
				case r.Method == http.MethodPost && r.URL.Path == "/rest/api/3/comment/list":
					var in struct{ IDs []int64 }
					_ = json.NewDecoder(r.Body).Decode(&in)
					values := []any{}
					if len(in.IDs) == 1 && in.IDs[0] == 10000 && props != nil {
						c := comment()
						c["properties"] = props
						if !tc.inList {
							tc.drop(c)
						}
						values = append(values, c)
					}
					_ = json.NewEncoder(w).Encode(map[string]any{"isLast": true, "maxResults": 1000, "startAt": 0, "total": len(values), "values": values})
				case r.Method == http.MethodPost && r.URL.Path == "/rest/api/3/issue/SEC-1/comment":
					posts++
					var in map[string]any
					_ = json.NewDecoder(r.Body).Decode(&in)
					props = in["properties"]
					w.WriteHeader(http.StatusCreated)
					_ = json.NewEncoder(w).Encode(comment())
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			h := connectortest.New(t)
			h.Env.Connections["jira"] = activities.Connection{Type: "jira", BaseURL: srv.URL,
				Options: map[string]string{"email": "soc@example.com", "project": "SEC"},
				Secrets: map[string]activities.SecretRef{"api_token": {Lab: "jira-token"}}}
			// The first attempt posts; its answer is taken as lost, and the
			// step runs again with the same key.
			h.MustRun("jira.add_comment", map[string]any{"issue": "SEC-1", "body": "contained"}, "k1")
			out, err := h.Run("jira.add_comment", map[string]any{"issue": "SEC-1", "body": "contained"}, "k1")
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != "VendorError" || !ae.NonRetryable() || !strings.Contains(err.Error(), "without a comment id") {
				t.Errorf("output %v, err = %v; want a non-retryable VendorError saying the comment found has no id", out, err)
			}
			if posts != 1 {
				t.Errorf("the comment was posted %d times, want once", posts)
			}
		})
	}
}
