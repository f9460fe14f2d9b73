package pagerduty_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/labkit"
)

func TestDocumentedSamples(t *testing.T) {
	event := labkit.Sample(os.DirFS("testdata"), "trigger-event.json")
	answer, err := os.ReadFile("testdata/enqueue-202.json")
	if err != nil {
		t.Fatal(err)
	}
	var documented map[string]any
	if err := json.Unmarshal(answer, &documented); err != nil {
		t.Fatal(err)
	}
	h := connectortest.New(t)
	conn := h.Lab.Connections()["pagerduty"]

	// The fake accepts PagerDuty's own example event and answers in the
	// documented shape.
	event["routing_key"] = conn.Secrets["routing_key"].Lab
	body, _ := json.Marshal(event)
	resp, err := http.Post(conn.BaseURL+"/v2/enqueue", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("documented event: %d %v %v", resp.StatusCode, got, err)
	}
	if !slices.Equal(labkit.SortedKeys(got), labkit.SortedKeys(documented)) || got["dedup_key"] != "samplekeyhere" {
		t.Errorf("fake answered %v, documented %v", got, documented)
	}

	// The connector on the documented answer, as it is.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	h.Env.Connections["pagerduty"] = activities.Connection{Type: "pagerduty", BaseURL: srv.URL,
		Secrets: map[string]activities.SecretRef{"routing_key": {Lab: "samplekeyhere0000000000000000000"}}}
	out := h.MustRun("pagerduty.trigger", map[string]any{"summary": "Example alert on host1.example.com", "dedup_key": "samplekeyhere"}, "k1")
	if out["status"] != "success" || out["message"] != "Event processed" || out["dedup_key"] != "samplekeyhere" {
		t.Fatalf("out = %v", out)
	}
}
