package crowdstrike_test

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

// GetDeviceDetailsV2 lists each device with its device_id (the recorded
// answer, testdata/devices-entities-v2.json), the id containment is sent
// for. A device of the name without it (dropped or empty: a proxy's JSON,
// a base_url that is not the API) is not a device to act on: the step
// fails naming the missing device_id, nothing is sent, and a lift does not
// report the host normal ("already") with device_id "".
func TestDeviceWithoutIDFails(t *testing.T) {
	query := connectortest.Sample(t, "devices-query.json")
	for _, drop := range []bool{true, false} {
		var details map[string]any
		if err := json.Unmarshal(connectortest.Sample(t, "devices-entities-v2.json"), &details); err != nil {
			t.Fatal(err)
		}
		dev := details["resources"].([]any)[0].(map[string]any)
		if drop {
			delete(dev, "device_id")
		} else {
			dev["device_id"] = ""
		}
		entities, err := json.Marshal(details)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var posts []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			switch {
			case r.URL.Path == "/oauth2/token":
				w.WriteHeader(http.StatusCreated)
				_, _ = w.Write([]byte(`{"access_token":"tok","token_type":"bearer","expires_in":1799}`))
			case r.URL.Path == "/devices/queries/devices/v1":
				_, _ = w.Write(query)
			case r.URL.Path == "/devices/entities/devices/v2":
				_, _ = w.Write(entities)
			default:
				posts = append(posts, r.URL.String())
				w.WriteHeader(http.StatusAccepted)
				_, _ = w.Write([]byte(`{"meta":{},"resources":[{"id":"","path":""}],"errors":[]}`))
			}
		}))
		h := connectortest.New(t)
		h.Env.Connections["crowdstrike"] = activities.Connection{Type: "crowdstrike", BaseURL: srv.URL,
			Options: map[string]string{"client_id": "id"}, Secrets: map[string]activities.SecretRef{"client_secret": {Lab: "s"}}}
		for _, action := range []string{"crowdstrike.contain_host", "crowdstrike.lift_containment"} {
			out, err := h.Run(action, map[string]any{"hostname": "FALCON-CROWDSTR"}, "k-"+action)
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != "VendorError" || !ae.NonRetryable() || !strings.Contains(err.Error(), "without a device_id") {
				t.Errorf("%s (device_id dropped: %v): output %v, err = %v; want a non-retryable VendorError naming the missing device_id", action, drop, out, err)
			}
		}
		srv.Close()
		if len(posts) != 0 {
			t.Errorf("device_id dropped %v: sent %v", drop, posts)
		}
	}
}
