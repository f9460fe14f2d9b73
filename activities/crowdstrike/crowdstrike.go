// Package crowdstrike is the CrowdStrike Falcon connector: network
// containment of a host (contain_host, undone by lift_containment) through
// the Hosts API with an OAuth2 API client, acting only on the most recently
// seen device named exactly as asked. Its README cites the vendor
// documentation the code and the fake (fake.go) follow.
package crowdstrike

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
)

// CrowdStrike Falcon: network containment of a host, found by hostname.
// Auth is OAuth2 client credentials (POST /oauth2/token answers 201); the
// bearer is cached until it expires and refreshed once on a 401.

// Type is the crowdstrike connection type: what a connection needs in riposte.yaml.
var Type = connector.ConnectionType{
	Name: "crowdstrike", Description: "CrowdStrike Falcon API (OAuth2 client credentials). base_url is per cloud: https://api.crowdstrike.com (us-1, the default), https://api.us-2.crowdstrike.com, https://api.eu-1.crowdstrike.com, https://api.laggar.gcw.crowdstrike.com (us-gov-1). On an official URL the client's cloud is discovered from the token answer's X-CS-Region header and used instead.",
	DefaultBaseURL: "https://api.crowdstrike.com",
	Fields: []connector.ConnectionField{
		{Name: "client_id", Required: true, Description: "API client id (scope Hosts: read + write).", Example: "${CS_CLIENT_ID}"},
		{Name: "client_secret", Secret: true, Required: true, Description: "API client secret.", Example: "{env: CS_CLIENT_SECRET}"},
		{Name: "cloud", Description: "Cloud a custom base_url (a proxy) leads to: us-1, us-2, eu-1, us-gov-1, us-gov-2. Lets a wrong cloud be named instead of reported as refused credentials. Not needed with an official base_url.", Example: "us-2"},
	},
}

// docs is the connector's docs fragment (docs/actions.md is generated
// from it).
//
//go:embed README.md
var docs string

// Connector is this vendor's line in the registry (activities/connections.go).
func Connector() connector.Vendor {
	return connector.Vendor{Docs: docs, Type: Type, Definitions: Definitions, Check: check,
		Needs: "API client scopes Hosts: read and Hosts: write"}
}

func Definitions() []connector.Definition {
	params := []catalog.Param{
		{Name: "hostname", Type: catalog.TypeString, Required: true, Description: "Host name as Falcon reports it (exact match, ignoring case)."},
		connector.ConnectionParam("crowdstrike"),
	}
	outputs := []catalog.Field{
		{Name: "device_id", Type: catalog.TypeString, Description: "Falcon device id (AID) acted on."},
		{Name: "hostname", Type: catalog.TypeString, Description: "Host name as Falcon reports it."},
		{Name: "status", Type: catalog.TypeString, Description: "Containment status after the call: containment_pending, contained, lift_containment_pending or normal."},
		{Name: "already", Type: catalog.TypeBool, Description: "True when the host was already in the wanted state, so nothing was sent."},
		{Name: "matches", Type: catalog.TypeInt, Description: "Devices with this host name; the most recently seen one is acted on."},
		connector.ConnectionOutput(),
	}
	return connector.Undoable{Type: Type, Label: "CrowdStrike", Params: params, Outputs: outputs,
		Do: connector.Half{Name: "crowdstrike.contain_host", Description: "Network-contains a host with CrowdStrike Falcon: it keeps talking to the Falcon cloud only. A host already contained or pending containment is left as is.",
			Run: func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				return csContain(ctx, c, "contain")
			}},
		Undo: connector.Half{Name: "crowdstrike.lift_containment", Description: "Lifts CrowdStrike Falcon network containment from a host. A host that is not contained is left as is.",
			Run: func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				return csContain(ctx, c, "lift_containment")
			}},
	}.Definitions()
}

type csDevice struct {
	DeviceID string `json:"device_id"`
	Hostname string `json:"hostname"`
	Status   string `json:"status"`
	LastSeen string `json:"last_seen"`
}

type csEnvelope struct {
	Resources []any `json:"resources"`
	Errors    []struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		ID      string `json:"id"`
	} `json:"errors"`
}

func (e csEnvelope) message() string {
	var msgs []string
	for _, er := range e.Errors {
		msgs = append(msgs, er.Message)
	}
	return strings.Join(msgs, "; ")
}

// csCloudURLs are the official API base URLs per cloud (Falcon API docs,
// "Cloud environments"; gofalcon falcon/cloud.go uses the same hosts).
var csCloudURLs = map[string]string{
	"us-1":     "https://api.crowdstrike.com",
	"us-2":     "https://api.us-2.crowdstrike.com",
	"eu-1":     "https://api.eu-1.crowdstrike.com",
	"us-gov-1": "https://api.laggar.gcw.crowdstrike.com",
	"us-gov-2": "https://api.us-gov-2.crowdstrike.mil",
}

// csCloudOf names the cloud of an official base URL, or "".
func csCloudOf(base string) string {
	for cloud, u := range csCloudURLs {
		if strings.EqualFold(strings.TrimRight(base, "/"), u) {
			return cloud
		}
	}
	return ""
}

// errCSMoved asks csAuth to authenticate again on another cloud.
type errCSMoved struct{ cloud, url string }

func (e *errCSMoved) Error() string { return "CrowdStrike API client belongs to cloud " + e.cloud }

// csAuth sets up the client-credentials grant and fetches the token now,
// following the client's cloud: the token answer's X-CS-Region names it.
// On an official base URL of another cloud the connection moves there (as
// gofalcon's and falconpy's autodiscovery do); on a custom base URL whose
// cloud option differs, the call fails naming the right cloud instead of
// reporting refused credentials later.
func csAuth(ctx context.Context, c *connector.Conn) error {
	id, secret, err := c.ClientCredentials()
	if err != nil {
		return err
	}
	// The cloud an official base URL was moved to is remembered per
	// connection and client, so later calls go there directly.
	key := "crowdstrike-cloud\x00" + c.Name + "\x00" + id
	if u, ok := c.Env.Recall(key); ok {
		c.Cfg.BaseURL = u
	}
	for moves := 0; ; moves++ {
		base := c.BaseURL()
		cloud := csCloudOf(base)
		declared := strings.ToLower(c.Option("cloud"))
		c.UseClientCredentials(c.Endpoint("/oauth2/token", nil), url.Values{"client_id": {id}, "client_secret": {secret}})
		c.TokenHook = func(h http.Header) error {
			region := strings.ToLower(strings.TrimSpace(h.Get("X-Cs-Region")))
			if region == "" {
				return nil
			}
			switch {
			case cloud != "" && region != cloud:
				if u, ok := csCloudURLs[region]; ok && moves == 0 {
					return &errCSMoved{cloud: region, url: u}
				}
				return connector.NewFailure(connector.KindAuth, fmt.Sprintf("%s: API client %s belongs to cloud %s (X-CS-Region) but base_url %s is cloud %s; set base_url to the %s API", c.Where(), id, region, base, cloud, region))
			case cloud == "" && declared != "" && region != declared:
				return connector.NewFailure(connector.KindAuth, fmt.Sprintf("%s: API client %s belongs to cloud %s (X-CS-Region) but base_url %s is declared as cloud %s; point base_url at the %s API (%s) and set cloud: %s", c.Where(), id, region, base, declared, region, csCloudURLs[region], region))
			}
			return nil
		}
		err := c.Authenticate(ctx)
		var moved *errCSMoved
		if errors.As(err, &moved) {
			c.LogAction("CrowdStrike API client belongs to another cloud; moving", "from", base, "to", moved.url, "cloud", moved.cloud)
			c.Env.Remember(key, moved.url)
			c.Cfg.BaseURL = moved.url
			continue
		}
		return err
	}
}

func csContain(ctx context.Context, c *connector.Conn, action string) (map[string]any, error) {
	host, err := connector.RequireHostname(c.Call)
	if err != nil {
		return nil, err
	}
	verb := "containing"
	if action == "lift_containment" {
		verb = "lifting containment of"
	}
	inContext := func(err error) error { return fmt.Errorf("%s host %s: %w", verb, host, err) }
	if err := csAuth(ctx, c); err != nil {
		return nil, inContext(err)
	}
	dev, matches, err := csFindHost(ctx, c, host)
	if err != nil {
		return nil, inContext(err)
	}
	out := map[string]any{"device_id": dev.DeviceID, "hostname": dev.Hostname, "status": dev.Status, "matches": matches, "already": false}
	// Check the current state first: a retried or replayed step must not
	// send a second containment.
	done := map[string][]string{
		"contain":          {"contained", "containment_pending"},
		"lift_containment": {"normal", "lift_containment_pending"},
	}[action]
	for _, s := range done {
		if dev.Status == s {
			out["already"] = true
			c.LogAction("host already in wanted state; nothing sent", "hostname", host, "device_id", dev.DeviceID, "status", dev.Status)
			return out, nil
		}
	}
	resp, err := c.Do(ctx, connector.Request{
		Method: http.MethodPost, Path: "/devices/entities/devices-actions/v2",
		Query: url.Values{"action_name": {action}},
		JSON:  map[string]any{"ids": []string{dev.DeviceID}},
	})
	if err != nil {
		return nil, inContext(err)
	}
	var env csEnvelope
	_ = c.DecodeJSON(resp, &env)
	// The answer is per device: resources[] lists the devices acted on,
	// errors[] the others, and code 409 means a device already in the
	// state asked (CrowdStrike's Ansible collection, host_contain.py). Only
	// our device in resources[] is an action taken.
	if !csHasResource(env, dev.DeviceID) {
		if resp.Status == http.StatusConflict || env.hasCode(http.StatusConflict) {
			// Someone else (an analyst, another run) got there between the
			// status read and the POST: done if the device says so.
			return csAlreadyDone(ctx, c, dev, done, out, env.message(), inContext)
		}
		if !resp.OK() {
			return nil, inContext(c.StatusError(resp, env.message(), fmt.Sprintf("device %s (%s) not found", dev.DeviceID, host)))
		}
		why := env.message()
		if why == "" {
			why = "no error given"
		}
		return nil, inContext(connector.NewFailure(connector.KindVendorError, fmt.Sprintf(
			"%s answered HTTP %d without device %s among the devices acted on (%s); the %s was not taken",
			c.Where(), resp.Status, dev.DeviceID, why, action)))
	}
	if action == "contain" {
		out["status"] = "containment_pending"
	} else {
		out["status"] = "lift_containment_pending"
	}
	c.LogAction("sent containment action", "hostname", host, "device_id", dev.DeviceID, "action_name", action)
	return out, nil
}

// csConflictRetry is how long to wait before retrying an action refused
// with 409 while the device is not yet in the state asked (the opposite
// action pending on the sensor).
const csConflictRetry = 30 * time.Second

// csAlreadyDone reads the device again after a 409: in a wanted state
// (done) the step is done, nothing having been sent by it; otherwise the
// conflict is a retryable error naming the status found.
func csAlreadyDone(ctx context.Context, c *connector.Conn, dev csDevice, done []string, out map[string]any, vendorMsg string, inContext func(error) error) (map[string]any, error) {
	devices, err := csGet[csDevice](ctx, c, "/devices/entities/devices/v2", url.Values{"ids": {dev.DeviceID}}, fmt.Sprintf("device %s not found", dev.DeviceID))
	if err != nil {
		return nil, inContext(err)
	}
	for _, d := range devices {
		if d.DeviceID != dev.DeviceID {
			continue
		}
		for _, s := range done {
			if d.Status == s {
				out["already"], out["status"] = true, d.Status
				c.LogAction("host already in wanted state (409); nothing done by this step", "hostname", dev.Hostname, "device_id", dev.DeviceID, "status", d.Status)
				return out, nil
			}
		}
		// The other action still pending (lift_containment_pending while
		// containing): retry once the sensor has applied it.
		f := connector.NewFailure(connector.KindUnavailable, fmt.Sprintf("%s answered 409 (%s) while device %s is %s; retrying once that settles", c.Where(), vendorMsg, dev.DeviceID, d.Status))
		f.Delay = csConflictRetry
		return nil, inContext(f)
	}
	return nil, inContext(connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s answered 409 (%s) and no longer lists device %s", c.Where(), vendorMsg, dev.DeviceID)))
}

// hasCode reports whether an error of the envelope has code.
func (e csEnvelope) hasCode(code int) bool {
	for _, er := range e.Errors {
		if er.Code == code {
			return true
		}
	}
	return false
}

func csHasResource(env csEnvelope, id string) bool {
	for _, r := range env.Resources {
		if m, ok := r.(map[string]any); ok && m["id"] == id {
			return true
		}
	}
	return false
}

// csGet sends a GET and returns the answer's resources; an error answer
// fails with the envelope's messages, notFound saying what a 404 means.
func csGet[T any](ctx context.Context, c *connector.Conn, path string, q url.Values, notFound string) ([]T, error) {
	res, _, err := csGetPage[T](ctx, c, path, q, notFound)
	return res, err
}

// csGetPage is csGet for a query answer: it also returns
// meta.pagination.total, the number of matches over every page.
func csGetPage[T any](ctx context.Context, c *connector.Conn, path string, q url.Values, notFound string) ([]T, int, error) {
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodGet, Path: path, Query: q})
	if err != nil {
		return nil, 0, err
	}
	var body struct {
		csEnvelope
		Resources []T `json:"resources"`
		Meta      struct {
			Pagination struct {
				Total int `json:"total"`
			} `json:"pagination"`
		} `json:"meta"`
	}
	if !resp.OK() {
		_ = c.DecodeJSON(resp, &body)
		return nil, 0, c.StatusError(resp, body.message(), notFound)
	}
	if err := c.DecodeJSON(resp, &body); err != nil {
		return nil, 0, err
	}
	return body.Resources, body.Meta.Pagination.Total, nil
}

// Host lookup bounds. QueryDevicesByFilter answers 100 ids by default
// (limit 1-5000, offset, meta.pagination.total); GetDeviceDetailsV2 takes
// at most 100 ids per request.
const (
	csPageSize   = 500
	csMaxPages   = 10
	csDetailsMax = 100
)

// csFindHost resolves a host name to the most recently seen device. FQL
// hostname:'NAME' also matches names starting with NAME (in any case), so
// every page of matches is read, sorted by last_seen, and only the
// devices named exactly NAME (ignoring case) count. More matches than the
// lookup reads fail rather than guess from part of them.
func csFindHost(ctx context.Context, c *connector.Conn, host string) (csDevice, int, error) {
	notFound := "host " + host + " not found"
	limit := csMaxPages * csPageSize
	seen := map[string]bool{}
	var best *csDevice
	n := 0
	for page, offset := 0, 0; ; page++ {
		q := url.Values{"filter": {fmt.Sprintf("hostname:'%s'", host)}, "sort": {"last_seen.desc"},
			"limit": {strconv.Itoa(csPageSize)}, "offset": {strconv.Itoa(offset)}}
		ids, total, err := csGetPage[string](ctx, c, "/devices/queries/devices/v1", q, notFound)
		if err != nil {
			return csDevice{}, 0, err
		}
		if total > limit || (page == csMaxPages && len(ids) > 0) {
			return csDevice{}, 0, connector.NewFailure(connector.KindVendorError, fmt.Sprintf(
				"%s lists %d devices for hostname:'%s' (that name and names starting with it), more than the %d the lookup reads; refusing to guess which one is %s: contain it from the Falcon console by its device id",
				c.Where(), max(total, limit+1), host, limit, host))
		}
		var fresh []string
		for _, id := range ids {
			if !seen[id] { // the matches may shift between pages
				seen[id] = true
				fresh = append(fresh, id)
			}
		}
		for len(fresh) > 0 {
			chunk := fresh[:min(len(fresh), csDetailsMax)]
			fresh = fresh[len(chunk):]
			devices, err := csGet[csDevice](ctx, c, "/devices/entities/devices/v2", url.Values{"ids": chunk}, notFound)
			if err != nil {
				return csDevice{}, 0, err
			}
			for i := range devices {
				dev := devices[i]
				if !strings.EqualFold(dev.Hostname, host) {
					continue
				}
				if strings.TrimSpace(dev.DeviceID) == "" {
					// GetDeviceDetailsV2 lists every device with its
					// device_id, the id an action is sent for: one without
					// it is not a device to act on (a proxy's JSON, a
					// base_url that is not the API).
					return csDevice{}, 0, connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s listed device %s without a device_id; check base_url and any proxy", c.Where(), dev.Hostname))
				}
				n++
				if best == nil || csNewer(dev.LastSeen, best.LastSeen) {
					best = &dev
				}
			}
		}
		offset += len(ids)
		if len(ids) == 0 || offset >= total {
			break
		}
	}
	if best == nil {
		return csDevice{}, 0, connector.NewFailure(connector.KindNotFound, fmt.Sprintf("host %s not found in %s", host, c.Where()))
	}
	return *best, n, nil
}

// csNewer compares two last_seen values as times (RFC 3339), falling back
// to text order.
func csNewer(a, b string) bool {
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	if errA == nil && errB == nil {
		return ta.After(tb)
	}
	return a > b
}

// check fetches a token (discovering the cloud) and lists one host id.
func check(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	if err := csAuth(ctx, c); err != nil {
		return nil, err
	}
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodGet, Path: "/devices/queries/devices/v1", Query: url.Values{"limit": {"1"}}})
	if err != nil {
		return nil, err
	}
	var env csEnvelope
	_ = c.DecodeJSON(resp, &env)
	if !resp.OK() {
		return nil, c.StatusError(resp, env.message(), "")
	}
	return map[string]any{"detail": "token and Hosts: read ok (" + c.BaseURL() + ")"}, nil
}
