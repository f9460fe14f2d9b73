package crowdstrike_test

import (
	"fmt"
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

// lookups counts the host query and device details requests, and any
// answered with an error.
func lookups(h *connectortest.Harness) (queries, details, failed int) {
	for _, r := range h.Lab.Requests(lab.CrowdStrike) {
		switch {
		case strings.HasSuffix(r.Path, "/devices/queries/devices/v1"):
			queries++
		case strings.HasSuffix(r.Path, "/devices/entities/devices/v2"):
			details++
		default:
			continue
		}
		if r.Status >= 400 {
			failed++
		}
	}
	return
}

// A host name with more device records (AIDs) than the query's default
// page of 100: a non-persistent VDI name or a host reimaged many times.
// Unsorted, the live AID comes after 150 stale ones; reading page 1 only
// contains a stale record and leaves the live host talking. Its details
// also take two requests (100 ids at most per request).
func TestContainPicksLiveDeviceBeyondFirstPage(t *testing.T) {
	h := connectortest.New(t)
	fk := lab.Fake[*crowdstrike.Fake](h.Lab)
	for i := 0; i < 150; i++ {
		fk.AddDevice("web-prod-01", time.Now().Add(-time.Duration(48+i)*time.Hour))
	}
	out := h.MustRun("crowdstrike.contain_host", map[string]any{"hostname": "web-prod-01"}, "k1")
	if got := containStatus(h, "web-prod-01"); got != "contained" || fk.ExtraActions() != 0 {
		t.Fatalf("live host is %q, %d actions reached stale records (output %v)", got, fk.ExtraActions(), out)
	}
	if fmt.Sprint(out["matches"]) != "151" {
		t.Errorf("matches = %v, want 151", out["matches"])
	}
	if q, d, failed := lookups(h); q != 1 || d != 2 || failed != 0 {
		t.Errorf("lookup requests: %d queries, %d details, %d failed; want 1, 2 (chunks of 100), 0", q, d, failed)
	}
	h.MustRun("crowdstrike.lift_containment", map[string]any{"hostname": "web-prod-01"}, "k2")
	if got := containStatus(h, "web-prod-01"); got != "normal" || fk.ExtraActions() != 0 {
		t.Fatalf("after lift: live host is %q, %d actions reached stale records", got, fk.ExtraActions())
	}
}

// FQL hostname:'db-prod-02' also returns partial matches (db-prod-020 …
// db-prod-02119). With 120 of those seen more recently than db-prod-02,
// its AID is on page 2 even sorted by last_seen: reading page 1 only
// reports the host unknown.
func TestContainFindsExactNameAmongPrefixMatches(t *testing.T) {
	h := connectortest.New(t)
	fk := lab.Fake[*crowdstrike.Fake](h.Lab)
	for i := 0; i < 120; i++ {
		fk.AddDevice(fmt.Sprintf("db-prod-02%d", i), time.Now())
	}
	out, err := h.Run("crowdstrike.contain_host", map[string]any{"hostname": "db-prod-02"}, "k1")
	if err != nil {
		t.Fatalf("contain: %v", err)
	}
	if got := containStatus(h, "db-prod-02"); got != "contained" || fk.ExtraActions() != 0 || fmt.Sprint(out["matches"]) != "1" {
		t.Errorf("db-prod-02 is %q, %d actions reached other hosts, output %v", got, fk.ExtraActions(), out)
	}
}

// More matches than the lookup reads: the step fails, without retry,
// instead of guessing from part of the records; nothing is contained.
func TestLookupPastTheBoundFails(t *testing.T) {
	h := connectortest.New(t)
	fk := lab.Fake[*crowdstrike.Fake](h.Lab)
	for i := 0; i < 5001; i++ {
		fk.AddDevice("eng-lt-117", time.Now().Add(-time.Duration(48+i)*time.Hour))
	}
	_, err := h.Run("crowdstrike.contain_host", map[string]any{"hostname": "eng-lt-117"}, "k1")
	if ae := connectortest.AppError(t, err); !ae.NonRetryable() || !strings.Contains(err.Error(), "5002 devices") {
		t.Errorf("err = %v; want a non-retryable failure naming the 5002 matches", err)
	}
	if got := containStatus(h, "eng-lt-117"); got != "normal" || fk.ExtraActions() != 0 {
		t.Errorf("eng-lt-117 is %q, %d actions on added records", got, fk.ExtraActions())
	}
	if q, d, _ := lookups(h); q != 1 || d != 0 {
		t.Errorf("lookup requests: %d queries, %d details; want the first query only", q, d)
	}
}
