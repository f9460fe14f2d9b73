package defender_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// The connector on Microsoft's own examples, as they are
// (testdata/README.md): the machine of "List machines API" and the
// MachineAction entity the isolate API answers with.
func TestDocumentedSamples(t *testing.T) {
	machines, err := os.ReadFile("testdata/machines.json")
	if err != nil {
		t.Fatal(err)
	}
	action, err := os.ReadFile("testdata/machineaction.json")
	if err != nil {
		t.Fatal(err)
	}
	var isolated bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/token":
			_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"at"}`))
		case r.URL.Path == "/api/machines":
			_, _ = w.Write(machines)
		case r.URL.Path == "/api/machineactions":
			_, _ = w.Write([]byte(`{"value":[]}`))
		case r.URL.Path == "/api/machines/1e5bc9d7e413ddd7902c2932e418702b84d0cc07/isolate" && r.Method == http.MethodPost:
			isolated = true
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(action)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	h := connectortest.New(t)
	h.Env.Connections["defender"] = activities.Connection{Type: "defender", BaseURL: srv.URL,
		Options: map[string]string{"client_id": "c", "token_url": srv.URL + "/token"},
		Secrets: map[string]activities.SecretRef{"client_secret": {Lab: "s3cret"}}}
	out := h.MustRun("defender.isolate_machine", map[string]any{"hostname": "mymachine1.contoso.com"}, "k1")
	if !isolated || out["machine_id"] != "1e5bc9d7e413ddd7902c2932e418702b84d0cc07" || out["hostname"] != "mymachine1.contoso.com" ||
		out["action_id"] != "5382f7ea-7557-4ab7-9782-d50480024a4e" || out["status"] != "Succeeded" || out["already"] != false {
		t.Fatalf("isolated = %v, out = %v", isolated, out)
	}
}
