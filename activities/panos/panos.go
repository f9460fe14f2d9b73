package panos

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
)

// PAN-OS: block an IP by registering it with a tag through the User-ID
// API; a dynamic address group matching the tag, used in a deny rule,
// picks it up without a commit. The XML API reports most errors as HTTP
// 200 with <response status="error">, so every answer is parsed.

// Type is the panos connection type: what a connection needs in riposte.yaml.
var Type = connector.ConnectionType{
	Name: "panos", Description: "Palo Alto Networks PAN-OS XML API (firewall or Panorama management address).",
	Fields: []connector.ConnectionField{
		{Name: "api_key", Secret: true, Required: true, Description: "XML API key (type=keygen).", Example: "{file: /run/secrets/panos_api_key}"},
		{Name: "tag", Default: "riposte-blocked", Description: "Tag registered on blocked IPs; a dynamic address group matching it must be used in a deny rule."},
		{Name: "vsys", Default: "vsys1", Description: "Virtual system the User-ID registrations go to."},
	},
}

// Connector is this vendor's line in the registry (activities/connections.go).
func Connector() connector.Vendor {
	return connector.Vendor{Type: Type, Definitions: Definitions}
}

func Definitions() []connector.Definition {
	params := []catalog.Param{
		{Name: "ip", Type: catalog.TypeString, Required: true, Description: "One IPv4 or IPv6 address. CIDR ranges are refused: User-ID registers single addresses."},
		{Name: "tag", Type: catalog.TypeString, Description: "Tag to register the IP with; default: the connection's tag (riposte-blocked)."},
		connector.ConnectionParam("panos"),
	}
	outputs := []catalog.Field{
		{Name: "ip", Type: catalog.TypeString, Description: "The address."},
		{Name: "tag", Type: catalog.TypeString, Description: "The tag."},
		{Name: "already", Type: catalog.TypeBool, Description: "True when the IP already had (or already lacked) the tag, so nothing was sent."},
		{Name: "connection", Type: catalog.TypeString, Description: "Connection used."},
	}
	return []connector.Definition{
		{
			Action: catalog.Action{
				Name: "panos.block_ip", Vendor: "panos", Risk: catalog.RiskContain, Undo: "panos.unblock_ip",
				Description: "Blocks an IP on a Palo Alto Networks firewall by tagging it into a dynamic address group (User-ID register; no commit). The group must be used in a deny rule.",
				Params:      params, Outputs: outputs,
			},
			Run: connector.Run(Type, "PAN-OS", false, func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				return panosTag(ctx, c, true)
			}),
		},
		{
			Action: catalog.Action{
				Name: "panos.unblock_ip", Vendor: "panos", Risk: catalog.RiskContain, Undo: "panos.block_ip",
				Description: "Removes the block tag from an IP on a Palo Alto Networks firewall (User-ID unregister).",
				Params:      params, Outputs: outputs,
			},
			Run: connector.Run(Type, "PAN-OS", false, func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				return panosTag(ctx, c, false)
			}),
		},
	}
}

// panosResponse is the envelope of every XML API answer.
type panosResponse struct {
	XMLName xml.Name `xml:"response"`
	Status  string   `xml:"status,attr"`
	Code    string   `xml:"code,attr"`
	Result  struct {
		Entries []struct {
			IP   string   `xml:"ip,attr"`
			Tags []string `xml:"tag>member"`
		} `xml:"entry"`
	} `xml:"result"`
	Inner []byte `xml:",innerxml"`
}

// messages collects the text and message="…" attributes of an answer:
// PAN-OS puts error details in either, at varying depths.
func (r *panosResponse) messages() string {
	dec := xml.NewDecoder(bytes.NewReader(r.Inner))
	var msgs []string
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			for _, a := range t.Attr {
				if a.Name.Local == "message" && strings.TrimSpace(a.Value) != "" {
					msgs = append(msgs, strings.TrimSpace(a.Value))
				}
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(t)); s != "" {
				msgs = append(msgs, s)
			}
		}
	}
	return strings.Join(msgs, "; ")
}

func parsePanos(c *connector.Conn, resp *connector.Response) (*panosResponse, error) {
	var pr panosResponse
	if err := xml.Unmarshal(resp.Body, &pr); err != nil {
		if !resp.OK() {
			return nil, c.StatusError(resp, "", "")
		}
		return nil, connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s returned an unreadable answer (HTTP %d: %s)", c.Where(), resp.Status, connector.Snippet(resp.Body)))
	}
	if !resp.OK() {
		return nil, c.StatusError(resp, pr.messages(), "")
	}
	return &pr, nil
}

func panosTag(ctx context.Context, c *connector.Conn, block bool) (map[string]any, error) {
	raw, err := connector.RequireString(c.Call, "ip")
	if err != nil {
		return nil, err
	}
	if strings.Contains(raw, "/") {
		return nil, connector.InvalidParam("%s takes a single IP address, not a CIDR range (%s): PAN-OS User-ID registers single addresses; block ranges with an address object instead", c.Call.Action, raw)
	}
	addr, err := netip.ParseAddr(raw)
	if err != nil {
		return nil, connector.InvalidParam("%s: %q is not an IP address", c.Call.Action, raw)
	}
	ip := addr.String()
	tag, err := connector.OptString(c.Call, "tag", c.Option("tag"))
	if err != nil {
		return nil, err
	}
	if tag == "" || len(tag) > 127 {
		return nil, connector.InvalidParam("%s: tag must be 1 to 127 characters", c.Call.Action)
	}
	verb := "blocking"
	if !block {
		verb = "unblocking"
	}
	wrap := func(err error) error { return fmt.Errorf("%s ip %s: %w", verb, ip, err) }
	key, err := c.Secret("api_key")
	if err != nil {
		return nil, wrap(err)
	}
	// The key goes in a header, never the URL, so it cannot leak through
	// an error message or a proxy log.
	c.Auth = func(_ context.Context, r *http.Request) error {
		r.Header.Set("X-PAN-KEY", key)
		return nil
	}
	vsys := c.Option("vsys")
	out := map[string]any{"ip": ip, "tag": tag, "already": false}

	// Current state first: is the IP registered with the tag?
	var show bytes.Buffer
	show.WriteString("<show><object><registered-ip><ip>")
	_ = xml.EscapeText(&show, []byte(ip))
	show.WriteString("</ip></registered-ip></object></show>")
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodPost, Path: "/api/", Form: url.Values{"type": {"op"}, "cmd": {show.String()}, "vsys": {vsys}}})
	if err != nil {
		return nil, wrap(err)
	}
	pr, err := parsePanos(c, resp)
	if err != nil {
		return nil, wrap(err)
	}
	if pr.Status != "success" {
		return nil, wrap(connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s refused the registered-ip Query: %s", c.Where(), pr.messages())))
	}
	tagged := false
	for _, e := range pr.Result.Entries {
		if e.IP != ip {
			continue
		}
		for _, t := range e.Tags {
			if t == tag {
				tagged = true
			}
		}
	}
	if tagged == block {
		out["already"] = true
		c.LogAction("ip already in wanted state; nothing sent", "ip", ip, "tag", tag)
		return out, nil
	}

	msg, err := uidMessage(block, ip, tag)
	if err != nil {
		return nil, wrap(err)
	}
	resp, err = c.Do(ctx, connector.Request{Method: http.MethodPost, Path: "/api/", Form: url.Values{"type": {"user-id"}, "cmd": {msg}, "vsys": {vsys}}})
	if err != nil {
		return nil, wrap(err)
	}
	pr, err = parsePanos(c, resp)
	if err != nil {
		return nil, wrap(err)
	}
	if pr.Status != "success" {
		m := pr.messages()
		// The firewall's own "nothing to do" answers, in an error envelope.
		if strings.Contains(m, "already exists, ignore") || strings.Contains(m, "does not exist, ignore unreg") {
			out["already"] = true
			return out, nil
		}
		if m == "" {
			m = "status=" + pr.Status
		}
		return nil, wrap(connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s answered HTTP %d with an error: %s", c.Where(), resp.Status, m)))
	}
	c.LogAction("changed ip registration", "ip", ip, "tag", tag, "block", block)
	return out, nil
}

// uidMessage builds the User-ID register/unregister document.
func uidMessage(register bool, ip, tag string) (string, error) {
	type entry struct {
		IP         string   `xml:"ip,attr"`
		Persistent string   `xml:"persistent,attr,omitempty"`
		Tags       []string `xml:"tag>member"`
	}
	type list struct {
		Entries []entry `xml:"entry"`
	}
	type payload struct {
		Register   *list `xml:"register,omitempty"`
		Unregister *list `xml:"unregister,omitempty"`
	}
	type message struct {
		XMLName xml.Name `xml:"uid-message"`
		Version string   `xml:"version"`
		Type    string   `xml:"type"`
		Payload payload  `xml:"payload"`
	}
	m := message{Version: "2.0", Type: "update"}
	if register {
		m.Payload.Register = &list{Entries: []entry{{IP: ip, Persistent: "1", Tags: []string{tag}}}}
	} else {
		m.Payload.Unregister = &list{Entries: []entry{{IP: ip, Tags: []string{tag}}}}
	}
	b, err := xml.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encoding uid-message: %w", err)
	}
	return string(b), nil
}
