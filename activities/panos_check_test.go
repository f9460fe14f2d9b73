package activities_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities/panos"
	"github.com/riposte-dev/riposte/internal/lab"
)

// riposte connections check on a Panorama connection with target: made
// no call at all and answered "API key ok", so a wrong key, an unreachable
// Panorama or a serial Panorama does not manage passed the check and
// failed the first block_ip instead.
func TestPanosCheckWithTargetCallsTheDevice(t *testing.T) {
	h := newHarness(t)
	c := h.Env.Connections["panos"]
	c.BaseURL = lab.Fake[*panos.Fake](h.Lab).PanoramaURL()
	c.Options = map[string]string{"target": panos.PanoramaSerials[0]}
	h.Env.Connections["panos"] = c

	// A wrong key.
	h.SetSecret("panos", "api_key", "not-the-key")
	if r := checkOne(t, h.Env, "panos"); r.Status != "failed" {
		t.Errorf("wrong API key: %+v", r)
	}

	// Nothing answering there at all.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	c = h.Env.Connections["panos"]
	c.BaseURL = dead.URL
	h.Env.Connections["panos"] = c
	if r := checkOne(t, h.Env, "panos"); r.Status != "failed" {
		t.Errorf("no Panorama at %s: %+v", dead.URL, r)
	}

	// A serial the Panorama does not manage.
	h2 := newHarness(t)
	c = h2.Env.Connections["panos"]
	c.BaseURL = lab.Fake[*panos.Fake](h2.Lab).PanoramaURL()
	c.Options = map[string]string{"target": panos.PanoramaSerials[0] + ",000000000000"}
	h2.Env.Connections["panos"] = c
	if r := checkOne(t, h2.Env, "panos"); r.Status != "failed" || !strings.Contains(r.Detail, "000000000000") {
		t.Errorf("unmanaged serial: %+v", r)
	}
}
