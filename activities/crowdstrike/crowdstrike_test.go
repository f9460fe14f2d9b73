package crowdstrike_test

import (
	"github.com/riposte-dev/riposte/activities/crowdstrike"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// officialToLab sends requests for the official CrowdStrike API hosts to
// the lab's fake of that cloud: DNS for the test, nothing else changes.
type officialToLab struct {
	lab   *lab.Lab
	hosts map[string]string // official host -> lab cloud
}

func (o officialToLab) RoundTrip(r *http.Request) (*http.Response, error) {
	if cloud, ok := o.hosts[r.URL.Host]; ok {
		u, _ := url.Parse(lab.Fake[*crowdstrike.Fake](o.lab).CloudURL(cloud))
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.URL.Path = u.Scheme, u.Host, u.Path+r.URL.Path
		r.Host = u.Host
	}
	return http.DefaultTransport.RoundTrip(r)
}

func containStatus(h *connectortest.Harness, host string) string {
	for _, hs := range h.Lab.State().Hosts {
		if hs.Hostname == host {
			return hs.CrowdStrike
		}
	}
	return ""
}

// An API client of the us-2 cloud configured with the default us-1 URL:
// the token answer's X-CS-Region says us-2 and the connector moves there.
// Without discovery, us-1 refuses the us-2 token and the step fails with
// "refused the credentials".
func TestRegionDiscoveryMovesToTheClientsCloud(t *testing.T) {
	h := connectortest.New(t)
	h.Env.HTTP = &http.Client{Transport: officialToLab{lab: h.Lab, hosts: map[string]string{
		"api.crowdstrike.com": "us-1", "api.us-2.crowdstrike.com": "us-2", "api.eu-1.crowdstrike.com": "eu-1"}}}
	h.Env.Connections["crowdstrike"] = lab.Fake[*crowdstrike.Fake](h.Lab).Client("us-2", "https://api.crowdstrike.com")
	out := h.MustRun("crowdstrike.contain_host", map[string]any{"hostname": "fin-ws-042"}, "k1")
	if out["status"] != "containment_pending" {
		t.Errorf("output = %v", out)
	}
	// A second call goes to us-2 directly.
	before := len(h.Lab.Requests(lab.CrowdStrike))
	h.MustRun("crowdstrike.lift_containment", map[string]any{"hostname": "fin-ws-042"}, "k2")
	for _, r := range h.Lab.Requests(lab.CrowdStrike)[before:] {
		if !strings.HasPrefix(r.Path, "/crowdstrike-us-2/") {
			t.Errorf("after discovery, request went to %s", r.Path)
		}
	}
}

// A custom base URL (a proxy) declared as us-1 for a us-2 client: the
// error names the cloud to use instead of blaming the credentials.
func TestWrongCloudBehindProxyIsNamed(t *testing.T) {
	h := connectortest.New(t)
	c := lab.Fake[*crowdstrike.Fake](h.Lab).Client("us-2", lab.Fake[*crowdstrike.Fake](h.Lab).CloudURL("us-1"))
	c.Options["cloud"] = "us-1"
	h.Env.Connections["crowdstrike"] = c
	_, err := h.Run("crowdstrike.contain_host", map[string]any{"hostname": "fin-ws-042"}, "k1")
	ae := connectortest.AppError(t, err)
	if !ae.NonRetryable() || !strings.Contains(err.Error(), "belongs to cloud us-2") || strings.Contains(err.Error(), "refused the credentials") {
		t.Errorf("err = %v", err)
	}
	if got := containStatus(h, "fin-ws-042"); got != "normal" {
		t.Errorf("host status = %s", got)
	}
}

// Containment takes a while on the sensor: the host reports
// containment_pending, and a retry of the step sends nothing more.
func TestContainmentPendingIsNotSentTwice(t *testing.T) {
	h := connectortest.New(t)
	h.Lab.SetPending(time.Hour)
	h.MustRun("crowdstrike.contain_host", map[string]any{"hostname": "eng-lt-117"}, "k1")
	out := h.MustRun("crowdstrike.contain_host", map[string]any{"hostname": "eng-lt-117"}, "k1")
	if out["already"] != true || out["status"] != "containment_pending" {
		t.Errorf("retry output = %v", out)
	}
	if n := len(h.Lab.CallsFor(lab.CrowdStrike, "contain", "eng-lt-117")); n != 1 {
		t.Errorf("contain actions sent = %d, want 1", n)
	}
}
