package activities_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/riposte-dev/riposte/activities"
)

// A vendor answer (or a gateway at base_url) that is not UTF-8 — a
// Latin-1 error page, a truncated multi-byte character, binary — was
// quoted byte for byte in the step's error. Temporal carries the error
// as a protobuf string, which must be valid UTF-8: the worker could not
// report the failure (string field contains invalid UTF-8), so the
// activity timed out and was retried, the vendor's answer lost and a
// non-retryable action (contain, disable) sent again.
func TestVendorAnswerNotUTF8StillReportsTheFailure(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"body": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, "Fehler: Ger\xe4t nicht gefunden")
		},
		"error page": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "\xff\xfeupstream "+strings.Repeat("x", 400))
		},
		"redirect": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "http://portal.example/anmeldung-\xfc")
			w.WriteHeader(http.StatusFound)
		},
	} {
		t.Run(name, func(t *testing.T) {
			env, url := vendorServer(t, h)
			env.Connections["sentinelone"] = activities.Connection{Type: "sentinelone", BaseURL: url, Secrets: map[string]activities.SecretRef{"api_token": {Lab: "t0ken"}}}
			_, err := runHandler(t, env, "sentinelone.reconnect_agent", map[string]any{"hostname": "h1"})
			if err == nil {
				t.Fatal("no error")
			}
			f := temporal.GetDefaultFailureConverter().ErrorToFailure(err)
			if _, merr := proto.Marshal(f); merr != nil {
				t.Fatalf("the failure cannot be sent to Temporal (%v): %q", merr, f.GetMessage())
			}
			if !strings.Contains(err.Error(), "\uFFFD") {
				t.Errorf("err = %q; want the bytes that are not UTF-8 shown as U+FFFD", err)
			}
			if name == "error page" && !strings.Contains(err.Error(), "upstream xxx") {
				t.Errorf("err = %q; want the start of the answer quoted", err)
			}
		})
	}
}
