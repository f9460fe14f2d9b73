package jira_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// Jira Cloud answers a created issue 201 {"id","key","self"} and a created
// comment 201 with its "id" (REST API v3, "Create issue", "Add comment").
// An answer without them (a gateway or proxy that answers any request with
// JSON, a base_url that is not the Jira site) created nothing anyone can
// find: the step fails and says so, instead of reporting a ticket whose key
// is "" and whose url is …/browse/.
func TestCreatedAnswerWithoutKeyFails(t *testing.T) {
	for _, tc := range []struct{ action, want string }{
		{"jira.create_issue", "without an issue key"},
		{"jira.add_comment", "without a comment id"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{}`))
		}))
		h := connectortest.New(t)
		h.Env.Connections["jira"] = activities.Connection{Type: "jira", BaseURL: srv.URL,
			Options: map[string]string{"email": "soc@example.com", "project": "SEC"},
			Secrets: map[string]activities.SecretRef{"api_token": {Lab: "jira-token"}}}
		out, err := h.Run(tc.action, map[string]any{"summary": "s", "issue": "SEC-1", "body": "b"}, "k1")
		srv.Close()
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || ae.Type() != "VendorError" || !ae.NonRetryable() || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: output %v, err = %v; want a non-retryable VendorError %q", tc.action, out, err, tc.want)
		}
	}
}
