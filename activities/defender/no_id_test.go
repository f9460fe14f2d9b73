package defender_test

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

// without returns the sample with the key dropped (drop) or set to ""
// at path (a top-level key, or "value.0.<key>" for the first machine).
func without(t *testing.T, sample []byte, key string, drop bool) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(sample, &doc); err != nil {
		t.Fatal(err)
	}
	obj := doc
	if k, ok := strings.CutPrefix(key, "value.0."); ok {
		obj, key = doc["value"].([]any)[0].(map[string]any), k
	}
	if drop {
		delete(obj, key)
	} else {
		obj[key] = ""
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// defenderStub answers Microsoft's documented examples (testdata/README.md)
// for mymachine1.contoso.com: machines for the lookup, no machine actions,
// and action for an isolate or unisolate POST. It records the POSTs.
type defenderStub struct {
	mu               sync.Mutex
	machines, action []byte
	posts            []string
}

func (s *defenderStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/token":
		_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"at"}`))
	case r.URL.Path == "/api/machines":
		_, _ = w.Write(s.machines)
	case r.URL.Path == "/api/machineactions":
		_, _ = w.Write([]byte(`{"value":[]}`))
	case r.Method == http.MethodPost:
		s.posts = append(s.posts, r.URL.Path)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(s.action)
	default:
		http.NotFound(w, r)
	}
}

func (s *defenderStub) harness(t *testing.T) *connectortest.Harness {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	h := connectortest.New(t)
	h.Env.Connections["defender"] = activities.Connection{Type: "defender", BaseURL: srv.URL,
		Options: map[string]string{"client_id": "c", "token_url": srv.URL + "/token"},
		Secrets: map[string]activities.SecretRef{"client_secret": {Lab: "s3cret"}}}
	return h
}

func wantVendorError(t *testing.T, what string, out map[string]any, err error, want string) {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != "VendorError" || !ae.NonRetryable() || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: output %v, err = %v; want a non-retryable VendorError %q", what, out, err, want)
	}
}

// The isolate and unisolate APIs answer 201 with the MachineAction
// created, whose id is how the action is followed in the action center
// ("Isolate machine", "Release device from isolation", "MachineAction").
// A 2xx without it (a proxy's or gateway's JSON, a base_url that is not
// the API) is not an action Defender took: the step fails naming the
// missing id instead of reporting the machine isolated with action_id "".
func TestActionAnswerWithoutIDFails(t *testing.T) {
	machines, action := connectortest.Sample(t, "machines.json"), connectortest.Sample(t, "machineaction.json")
	for _, act := range []string{"defender.isolate_machine", "defender.unisolate_machine"} {
		for _, drop := range []bool{true, false} {
			s := &defenderStub{machines: machines, action: without(t, action, "id", drop)}
			h := s.harness(t)
			out, err := h.Run(act, map[string]any{"hostname": "mymachine1.contoso.com"}, "k1")
			wantVendorError(t, act, out, err, "without a machine action id")
		}
	}
}

// Every machine of "List machines API" has its id, the one every machine
// action is sent to (/api/machines/{id}/isolate). A machine entry without
// it is not a machine the connector can act on: the step fails naming the
// missing id, and nothing is sent (no /api/machines//isolate).
func TestMachineWithoutIDFails(t *testing.T) {
	machines, action := connectortest.Sample(t, "machines.json"), connectortest.Sample(t, "machineaction.json")
	for _, act := range []string{"defender.isolate_machine", "defender.unisolate_machine"} {
		for _, drop := range []bool{true, false} {
			s := &defenderStub{machines: without(t, machines, "value.0.id", drop), action: action}
			h := s.harness(t)
			out, err := h.Run(act, map[string]any{"hostname": "mymachine1.contoso.com"}, "k1")
			wantVendorError(t, act, out, err, "without an id")
			s.mu.Lock()
			if len(s.posts) != 0 {
				t.Errorf("%s: sent %v", act, s.posts)
			}
			s.mu.Unlock()
		}
	}
}
