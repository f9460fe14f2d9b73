package crowdstrike_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// csActionStub is a Falcon API with one device, ws-007 (aid
// aaaa…), whose devices-actions answer the test chooses. Device details
// report status until an action is answered, then after.
type csActionStub struct {
	mu            sync.Mutex
	status, after string
	answerStatus  int
	answer        map[string]any
	actions       int
}

const stubAID = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func (s *csActionStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	meta := map[string]any{"query_time": 0.001, "trace_id": "t"}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/oauth2/token":
		reply(http.StatusCreated, map[string]any{"access_token": "tok", "token_type": "bearer", "expires_in": 1799})
	case r.Header.Get("Authorization") != "Bearer tok":
		reply(http.StatusUnauthorized, map[string]any{"meta": meta, "errors": []any{map[string]any{"code": 401, "message": "access denied, invalid bearer token"}}})
	case r.URL.Path == "/devices/queries/devices/v1":
		meta["pagination"] = map[string]any{"offset": 0, "limit": 500, "total": 1}
		reply(http.StatusOK, map[string]any{"meta": meta, "resources": []string{stubAID}, "errors": []any{}})
	case r.URL.Path == "/devices/entities/devices/v2":
		reply(http.StatusOK, map[string]any{"meta": meta, "errors": []any{}, "resources": []any{map[string]any{
			"device_id": stubAID, "hostname": "ws-007", "status": s.status, "last_seen": "2026-12-01T10:00:00Z"}}})
	case r.Method == http.MethodPost && r.URL.Path == "/devices/entities/devices-actions/v2":
		s.actions++
		s.status = s.after
		answer := map[string]any{"meta": meta}
		for k, v := range s.answer {
			answer[k] = v
		}
		reply(s.answerStatus, answer)
	default:
		reply(http.StatusNotFound, map[string]any{"meta": meta, "errors": []any{map[string]any{"code": 404, "message": "not found"}}})
	}
}

func stubHarness(t *testing.T, s *csActionStub) *connectortest.Harness {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	h := connectortest.New(t)
	h.Env.Connections["crowdstrike"] = activities.Connection{Type: "crowdstrike", BaseURL: srv.URL,
		Options: map[string]string{"client_id": "id"}, Secrets: map[string]activities.SecretRef{"client_secret": {Lab: "s"}}}
	return h
}

// PerformActionV2 answers per device: resources[] lists the devices the
// action was taken on, errors[] the others, each error naming its device
// in its message, and code 409 means the device is already in the state
// asked (CrowdStrike's own Ansible collection, plugins/modules/
// host_contain.py: "The API returns both successful and failed hosts in
// the same response"; "if code == 409: # Host already in desired state";
// PSFalcon's PerformActionV2 declares 409 msa.ReplyAffectedEntities). The
// host was contained by someone else (an analyst, another run) between the
// status read and the POST: the host is contained, so the step is done
// (already), not failed as a refusal.
func TestContainAnsweredConflictIsAlreadyDone(t *testing.T) {
	for _, httpStatus := range []int{http.StatusConflict, http.StatusAccepted} {
		s := &csActionStub{status: "normal", after: "contained", answerStatus: httpStatus, answer: map[string]any{
			"resources": []any{},
			"errors":    []any{map[string]any{"code": 409, "message": "Device " + stubAID + " is already contained"}},
		}}
		h := stubHarness(t, s)
		out, err := h.Run("crowdstrike.contain_host", map[string]any{"hostname": "ws-007"}, "k1")
		if err != nil {
			t.Errorf("HTTP %d with a 409 error for the device: err = %v; want the step done (already)", httpStatus, err)
			continue
		}
		if out["already"] != true || out["status"] != "contained" {
			t.Errorf("HTTP %d with a 409 error for the device: output = %v; want already=true, status contained", httpStatus, out)
		}
	}
}

// A 202 whose resources[] does not list the device acted on (and no error
// either) is not a containment: the official module treats "nothing back"
// as a failure (host_contain.py: "If we get nothing back, handle the
// error"). Reporting containment_pending would tell the analyst a host is
// cut off while it is still talking.
func TestContainWithoutTheDeviceInResourcesFails(t *testing.T) {
	for name, answer := range map[string]map[string]any{
		"empty":        {"resources": []any{}, "errors": []any{}},
		"null":         {"resources": nil, "errors": nil},
		"other device": {"resources": []any{map[string]any{"id": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "path": ""}}, "errors": []any{}},
	} {
		s := &csActionStub{status: "normal", after: "normal", answerStatus: http.StatusAccepted, answer: answer}
		h := stubHarness(t, s)
		out, err := h.Run("crowdstrike.contain_host", map[string]any{"hostname": "ws-007"}, "k1")
		if err == nil {
			t.Errorf("%s: a 202 not listing the device reported success: %v", name, out)
			continue
		}
		if !strings.Contains(err.Error(), stubAID) {
			t.Errorf("%s: err = %v; want it to name the device", name, err)
		}
	}
}

// A 409 while the device is not in the state asked (the opposite action
// still pending on the sensor) is neither done nor final: the step is
// retried once that settles, naming the status.
func TestContainConflictWhileLiftPendingIsRetried(t *testing.T) {
	s := &csActionStub{status: "lift_containment_pending", after: "lift_containment_pending", answerStatus: http.StatusConflict, answer: map[string]any{
		"resources": []any{},
		"errors":    []any{map[string]any{"code": 409, "message": "Device " + stubAID + " has a pending action"}},
	}}
	h := stubHarness(t, s)
	_, err := h.Run("crowdstrike.contain_host", map[string]any{"hostname": "ws-007"}, "k1")
	if ae := connectortest.AppError(t, err); ae.NonRetryable() || !strings.Contains(err.Error(), "lift_containment_pending") {
		t.Errorf("err = %v; want a retryable failure naming lift_containment_pending", err)
	}
}
