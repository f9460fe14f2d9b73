package cluster_test

import (
	"encoding/json"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/test/cluster"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.RemoveBinaries()
	os.Exit(code)
}

// submit posts detections and decodes the answer.
func submit(t *testing.T, c *cluster.Cluster, body string) api.DetectionsResponse {
	t.Helper()
	code, b := c.API(t, "POST", "/v1/detections", body)
	if code != 202 && code != 200 {
		t.Fatalf("POST /v1/detections: %d %s", code, b)
	}
	var r api.DetectionsResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return r
}

// run fetches one run.
func run(t *testing.T, c *cluster.Cluster, workflowID string) (api.RunDetail, bool) {
	t.Helper()
	code, b := c.API(t, "GET", "/v1/runs/"+url.PathEscape(workflowID), nil)
	if code != 200 {
		return api.RunDetail{}, false
	}
	var r api.RunDetail
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return r, true
}

func waitClosed(t *testing.T, c *cluster.Cluster, workflowID string, d time.Duration) api.RunDetail {
	t.Helper()
	var r api.RunDetail
	cluster.WaitFor(t, d, "run "+workflowID+" to close", func() bool {
		var ok bool
		r, ok = run(t, c, workflowID)
		return ok && r.ClosedAt != nil
	})
	return r
}

// TestClusterSmoke: one shipped example through the whole topology.
func TestClusterSmoke(t *testing.T) {
	c := cluster.Start(t, cluster.Options{})
	data, err := os.ReadFile(cluster.RepoRoot() + "/examples/credential-dumping.json")
	if err != nil {
		t.Fatal(err)
	}
	r := submit(t, c, string(data))
	if r.Started != 1 {
		t.Fatalf("%+v", r)
	}
	for _, d := range r.Detections {
		for _, m := range d.Matched {
			if rd := waitClosed(t, c, m.WorkflowID, 2*time.Minute); rd.Status != "succeeded" {
				t.Errorf("%s: %s\n%s", m.WorkflowID, rd.Status, c.Logs(20))
			}
		}
	}
	if n := c.Lab.Changes("crowdstrike", "", ""); n != 1 {
		t.Errorf("crowdstrike changes %d, want 1", n)
	}
}
