package crowdstrike_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities/crowdstrike"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// wrongCloudGateway is CrowdStrike's API gateway as recorded in
// CrowdStrike's own Ansible collection, issue #217
// (https://github.com/CrowdStrike/ansible_collection_falcon/issues/217):
// POST https://api.crowdstrike.com/oauth2/token with the credentials of a
// us-2 API client answers
//
//	status: 308 (Permanent Redirect), content: '' (content_length 0)
//	location: https://api.us-2.crowdstrike.com/oauth2/token
//	x_cs_region: us-2
//
// not a 201 with a token. Every other request goes on to the lab's cloud
// of its official host (officialToLab).
type wrongCloudGateway struct {
	next      officialToLab
	us2Client string // client_id of a us-2 API client
}

func (g wrongCloudGateway) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.URL.Host == "api.crowdstrike.com" && r.URL.Path == "/oauth2/token" {
		if err := r.ParseForm(); err == nil && r.PostForm.Get("client_id") == g.us2Client {
			h := http.Header{}
			h.Set("Location", "https://api.us-2.crowdstrike.com/oauth2/token")
			h.Set("X-Cs-Region", "us-2")
			h.Set("Content-Length", "0")
			h.Set("Server", "nginx")
			return &http.Response{StatusCode: http.StatusPermanentRedirect, Status: "308 Permanent Redirect",
				Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Body: http.NoBody, Request: r}, nil
		}
	}
	return g.next.RoundTrip(r)
}

// A us-2 API client on the default (us-1) base URL: the real gateway
// answers the token request with a 308 to the us-2 cloud carrying
// X-CS-Region: us-2. The README promises region discovery on an official
// base URL ("the connector moves there"); the step must contain the host
// on us-2, not fail with "a redirect that was not followed; check
// base_url".
func TestRegionDiscoveryOnTheGatewaysRedirect(t *testing.T) {
	h := connectortest.New(t)
	conn := lab.Fake[*crowdstrike.Fake](h.Lab).Client("us-2", "https://api.crowdstrike.com")
	h.Env.HTTP = &http.Client{Transport: wrongCloudGateway{us2Client: conn.Options["client_id"], next: officialToLab{lab: h.Lab, hosts: map[string]string{
		"api.crowdstrike.com": "us-1", "api.us-2.crowdstrike.com": "us-2", "api.eu-1.crowdstrike.com": "eu-1"}}}}
	h.Env.Connections["crowdstrike"] = conn
	out, err := h.Run("crowdstrike.contain_host", map[string]any{"hostname": "fin-ws-042"}, "k1")
	if err != nil {
		t.Fatalf("contain_host with a us-2 client on the us-1 URL failed on the gateway's 308: %v", err)
	}
	if out["status"] != "containment_pending" {
		t.Errorf("output = %v", out)
	}
	for _, r := range h.Lab.Requests(lab.CrowdStrike) {
		if strings.HasSuffix(r.Path, "/devices/entities/devices-actions/v2") && !strings.HasPrefix(r.Path, "/crowdstrike-us-2/") {
			t.Errorf("containment sent to %s, not the client's us-2 cloud", r.Path)
		}
	}
}
