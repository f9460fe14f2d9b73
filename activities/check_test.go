package activities_test

import (
	"context"
	"github.com/riposte-dev/riposte/activities/panos"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/lab"
)

func checkOne(t *testing.T, env *activities.Env, name string) connector.CheckResult {
	t.Helper()
	for _, r := range activities.CheckConnections(context.Background(), env) {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no result for %s", name)
	return connector.CheckResult{}
}

// A refused credential fails the check, names the permissions the actions
// need, and never prints the secret.
func TestConnectionsCheckReportsRefusals(t *testing.T) {
	h := newHarness(t)
	all := activities.CheckConnections(context.Background(), h.Env)
	for _, r := range all {
		if r.Status == "failed" {
			t.Errorf("lab connection %s failed its check: %s", r.Name, r.Detail)
		}
	}
	h.SetSecret("crowdstrike", "client_secret", "wrong-secret-value")
	r := checkOne(t, h.Env, "crowdstrike")
	if r.Status != "failed" || r.Kind != "AuthFailed" || !strings.Contains(r.Needs, "Hosts") || strings.Contains(r.Detail, "wrong-secret-value") {
		t.Errorf("bad secret: %+v", r)
	}
	c := h.Env.Connections["panos"]
	c.BaseURL = lab.Fake[*panos.Fake](h.Lab).PanoramaURL()
	h.Env.Connections["panos"] = c
	if r := checkOne(t, h.Env, "panos"); r.Status != "failed" || !strings.Contains(r.Detail, "target") {
		t.Errorf("panorama without target: %+v", r)
	}
	c.Options = map[string]string{"target": panos.PanoramaSerials[0]}
	h.Env.Connections["panos"] = c
	if r := checkOne(t, h.Env, "panos"); r.Status != "ok" {
		t.Errorf("panorama with target: %+v", r)
	}
}
