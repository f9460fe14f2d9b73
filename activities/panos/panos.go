// Package panos is the Palo Alto Networks PAN-OS connector: block_ip
// (undone by unblock_ip) tags addresses into a dynamic address group with
// the User-ID XML API, directly or through Panorama per firewall serial;
// errors inside an HTTP 200 are read from the XML. Its README cites the
// vendor documentation the code and the fake (fake.go) follow.
package panos

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"

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
		{Name: "tag", Default: "riposte-blocked", Description: "Tag registered on blocked IPs; a dynamic address group matching it must be used in a deny rule. PAN-OS name rules, and not beginning with riposte. (the owner tags Riposte registers beside it): checked when riposte.yaml is loaded.",
			Check: connectionTag},
		{Name: "vsys", Default: "vsys1", Description: "Virtual system the User-ID registrations go to."},
		{Name: "target", Description: "With a Panorama base_url: serial number(s) of the managed firewall(s) to register on, comma-separated (the XML API's target parameter). Required for Panorama: registrations on Panorama itself reach no firewall.", Example: "007951000123456,007951000654321"},
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
		Needs: "an admin role with XML API: Operational Requests and User-ID Agent"}
}

func Definitions() []connector.Definition {
	params := []catalog.Param{
		{Name: "ip", Type: catalog.TypeString, Required: true, Description: "An IPv4 or IPv6 address, a network (203.0.113.0/24) or a range (203.0.113.10-203.0.113.20); networks and ranges need PAN-OS 10.0 or later."},
		{Name: "tag", Type: catalog.TypeString, Description: "Tag to register the IP with; default: the connection's tag (riposte-blocked). Up to 127 letters, digits, spaces, '-', '_' or '.'; not and, or, not; a block's tag does not begin with riposte. (kept for owner tags)."},
		connector.ConnectionParam("panos"),
	}
	outputs := []catalog.Field{
		{Name: "ip", Type: catalog.TypeString, Description: "The address, network or range, normalized."},
		{Name: "targets", Type: catalog.TypeList, Description: "Serial numbers of the firewalls acted on through Panorama (empty for a firewall connection)."},
		{Name: "tag", Type: catalog.TypeString, Description: "The tag."},
		{Name: "already", Type: catalog.TypeBool, Description: "True when the IP already had (or already lacked) the tag, so nothing was sent."},
		{Name: "left_on", Type: catalog.TypeList, Description: "unblock_ip through Panorama: serial numbers of the firewalls whose block it left in place, because Riposte's block did not put it there (no owner tag)."},
		connector.ConnectionOutput(),
	}
	return connector.Undoable{Type: Type, Label: "PAN-OS", Params: params, Outputs: outputs,
		Do: connector.Half{Name: "panos.block_ip", Description: "Blocks an IP on a Palo Alto Networks firewall by tagging it into a dynamic address group (User-ID register; no commit). The group must be used in a deny rule.",
			Run: func(ctx context.Context, c *connector.Conn) (map[string]any, error) { return panosTag(ctx, c, true) }},
		Undo: connector.Half{Name: "panos.unblock_ip", Description: "Removes the block tag from an IP on a Palo Alto Networks firewall (User-ID unregister).",
			Run: func(ctx context.Context, c *connector.Conn) (map[string]any, error) { return panosTag(ctx, c, false) }},
	}.Definitions()
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
		System struct {
			Model string `xml:"model"`
		} `xml:"system"`
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
		return nil, c.Unreadable(resp)
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
	ip, err := registeredIP(raw)
	if err != nil {
		return nil, connector.InvalidParam("%s: %v", c.Call.Action, err)
	}
	tag, err := connector.OptString(c.Call, "tag", c.Option("tag"))
	if err != nil {
		return nil, err
	}
	check := validTag
	if block {
		// An undo still lifts a block put with such a tag before it was refused.
		check = blockTag
	}
	if err := check(tag); err != nil {
		return nil, connector.InvalidParam("%s: %v", c.Call.Action, err)
	}
	verb := "blocking"
	if !block {
		verb = "unblocking"
	}
	wrap := func(err error) error { return fmt.Errorf("%s ip %s: %w", verb, ip, err) }
	// The key goes in a header, never the URL, so it cannot leak through
	// an error message or a proxy log.
	if err := c.UseSecretHeader("api_key", "X-PAN-KEY", ""); err != nil {
		return nil, wrap(err)
	}
	targets := panosTargets(c)
	out := map[string]any{"ip": ip, "tag": tag, "already": true, "targets": targets}
	if len(targets) == 0 {
		if err := panosRefusePanorama(ctx, c); err != nil {
			return nil, wrap(err)
		}
		targets = []string{""}
	}
	// Through several firewalls a block may find the address blocked on
	// some (someone else's block) and block it on others: it registers an
	// owner tag beside the block tag where it put it, and the undo lifts
	// the block only there (ownedTargets). Through one firewall too: the
	// connection's target list may grow before the undo (a block without
	// owner tags is lifted everywhere), and an undo through fewer
	// firewalls must remove the owner tag with the block, or it claims
	// the next block put there by hand.
	owner := ""
	if targets[0] != "" {
		owner = ownerTag(tag)
	}
	only, err := ownedTargets(ctx, c, targets, ip, tag, owner, block)
	if err != nil {
		return nil, wrap(err)
	}
	var rec *blockRecord
	if block {
		rec = loadBlockRecord(ctx)
	}
	var done, left []string
	changed := false
	for _, target := range targets {
		var already, leftHere bool
		var err error
		skipped := only != nil && !slices.Contains(only, target)
		if skipped {
			// Blocked here by someone else, or not at all: left as it is.
			var st ipState
			if st, err = panosState(ctx, c, target, ip, tag, owner); err == nil && st.tagged {
				left = append(left, target)
			}
			already = true
		} else {
			already, leftHere, err = panosTagOn(ctx, c, target, ip, tag, owner, block, only != nil, rec)
		}
		if err != nil {
			if target != "" {
				err = fmt.Errorf("on firewall %s: %w", target, err)
			}
			if len(done) > 0 && (changed || !firstAttempt(ctx)) {
				// Some firewalls act on it because of this step: say so,
				// so the step's budget slot is kept (a retry applies the
				// rest) and a rollback undoes it. Firewalls that had it
				// before the step's first attempt (someone else's block)
				// do not count: a rollback must leave them.
				err = fmt.Errorf("%w (%s: done on firewall %s)", err, catalog.PartiallyApplied, strings.Join(done, ", "))
			}
			return nil, wrap(err)
		}
		if leftHere {
			left = append(left, target)
		}
		if target != "" && !skipped && !leftHere && !(already && rec.find(target, ip) != nil) {
			// A firewall whose block the undo leaves was not acted on by
			// any attempt: not "done" in a partially applied failure; nor
			// one where an attempt of this block found someone else's.
			done = append(done, target)
		}
		if !already {
			out["already"] = false
			changed = true
		}
	}
	if len(left) > 0 {
		out["left_on"] = left
		c.LogAction("block left in place: not put by Riposte", "ip", ip, "tag", tag, "targets", strings.Join(left, ", "))
	}
	if block && !changed && c.Call.ResetFrom == "" && c.Call.ContinuedFrom == "" && rec.foreignEverywhere(targets, ip) {
		// Every firewall carries a block no attempt of this step put
		// (recorded as found): someone else's, though a retry's
		// "already" is not otherwise taken for preexisting. A rollback
		// must leave it: its undo would find the tag on every firewall
		// and no owner tag, and take it for an earlier release's block.
		// Not in a reset or continued run: a block its earlier run put
		// with an earlier release has no owner tag either, and is the
		// run's own (activities.appliedBeforeReset decides).
		out[catalog.OutputPreexisting] = true
	}
	return out, nil
}

// ownerTag is the tag a block through Panorama registers beside tag on
// the firewalls where it put tag: "riposte." and the tag (a hash of it when that
// would pass PAN-OS's 127 characters). A registered tag needs no tag
// object, and no dynamic address group matches it unless one names it.
func ownerTag(tag string) string {
	if len(ownerPrefix)+len(tag) <= 127 {
		return ownerPrefix + tag
	}
	sum := sha256.Sum256([]byte(tag))
	return ownerPrefix + hex.EncodeToString(sum[:8])
}

// ownerPrefix begins every owner tag (ownerTag).
const ownerPrefix = "riposte."

// blockTag vets a tag a block registers: PAN-OS's rules (validTag), and
// not the owner-tag prefix in any case: a block tag riposte.X is the owner
// tag of tag X (the undo of an X block takes a block with it for Riposte's
// and lifts it), and riposte.<16 hex digits> that of a long tag.
func blockTag(tag string) error {
	if err := validTag(tag); err != nil {
		return err
	}
	if len(tag) >= len(ownerPrefix) && strings.EqualFold(tag[:len(ownerPrefix)], ownerPrefix) {
		return fmt.Errorf("tag %q begins with %q, which Riposte keeps for the owner tag it registers beside a block tag (riposte.<tag>): it would be taken for the owner tag of tag %q, and an undo of such a block would lift this one; use a tag without it, e.g. riposte-blocked", tag, ownerPrefix, tag[len(ownerPrefix):])
	}
	return nil
}

// connectionTag vets the connection's tag as riposte.yaml is loaded
// (blockTag). A riposte. tag was accepted before it was refused: addresses
// blocked with it stay so once the tag is renamed, and the undos still
// pending (params without tag) take the new one; the error says how to
// lift them (an undo accepts the old tag).
func connectionTag(tag string) error {
	err := blockTag(tag)
	if err != nil && validTag(tag) == nil {
		return fmt.Errorf("%w; addresses blocked with it stay blocked after the change (an undo without tag: lifts the new tag): lift them with panos.unblock_ip and tag: %s", err, tag)
	}
	return err
}

// unblockProgress is what an undo saves before it acts (connector
// SaveProgress): the firewalls whose block it lifts, or Everywhere (a
// block of an earlier release, lifted wherever it is). Its retry reads it,
// since the owner tags it finds then may be gone with the blocks, and the
// blocks with them.
type unblockProgress struct {
	Owned      []string `json:"panos_owned"`
	Everywhere bool     `json:"panos_everywhere,omitempty"`
}

// ownedTargets returns, for an undo through Panorama (owner set), the
// firewalls whose block carries the owner tag: the undo lifts the block
// only there. nil (lift it wherever it is) for a block, a firewall
// connection, or when every firewall has the block and none an owner tag:
// a block put by an earlier release, which registered none and blocked on
// each firewall of the list.
func ownedTargets(ctx context.Context, c *connector.Conn, targets []string, ip, tag, owner string, block bool) ([]string, error) {
	if block || owner == "" {
		return nil, nil
	}
	var prev unblockProgress
	if connector.LoadProgress(ctx, &prev) && (prev.Owned != nil || prev.Everywhere) {
		// Saved again: this attempt's heartbeats would otherwise go
		// without it, and a later retry find neither it nor owner tags.
		connector.SaveProgress(ctx, prev)
		if prev.Everywhere {
			return nil, nil
		}
		return prev.Owned, nil
	}
	owned := []string{}
	everywhere := true
	for _, target := range targets {
		st, err := panosState(ctx, c, target, ip, tag, owner)
		if err != nil {
			if target != "" {
				err = fmt.Errorf("on firewall %s: %w", target, err)
			}
			return nil, err
		}
		if st.owned {
			owned = append(owned, target)
		}
		everywhere = everywhere && st.tagged
	}
	if len(owned) == 0 {
		// An earlier release blocked on every firewall of the list. A
		// block on only some, none with an owner tag, is someone else's:
		// this undo lifted its own already (an earlier activity whose
		// answer was lost), or there was none. Saved either way: a retry
		// after this attempt lifted some, or someone blocked the rest,
		// would find the other.
		if everywhere {
			connector.SaveProgress(ctx, unblockProgress{Everywhere: true})
			return nil, nil
		}
		connector.SaveProgress(ctx, unblockProgress{Owned: owned})
		return owned, nil
	}
	connector.SaveProgress(ctx, unblockProgress{Owned: owned})
	return owned, nil
}

// panosForm is the form of one XML API call, redirected to a managed
// firewall when target is set.
func panosForm(c *connector.Conn, target string, kv ...string) url.Values {
	f := url.Values{"vsys": {c.Option("vsys")}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	if target != "" {
		f.Set("target", target)
	}
	return f
}

// panosRefusePanorama fails when the connection leads to a Panorama and
// no target is set: User-ID registrations sent to Panorama without
// target=<serial> stay in Panorama's own table and no firewall enforces
// them. The answer is remembered per connection.
func panosRefusePanorama(ctx context.Context, c *connector.Conn) error {
	key := "panos-model\x00" + c.Name + "\x00" + c.BaseURL()
	model, ok := c.Env.Recall(key)
	if !ok {
		var err error
		if model, err = panosModel(ctx, c, ""); err != nil {
			return err
		}
		c.Env.Remember(key, model)
	}
	if strings.EqualFold(model, "Panorama") || strings.HasPrefix(strings.ToUpper(model), "M-") {
		return connector.NewFailure(connector.KindNoConnection, fmt.Sprintf("connection %q leads to a Panorama (model %s): User-ID registrations there reach no firewall; set target: to the serial number(s) of the managed firewall(s)", c.Name, model))
	}
	return nil
}

// panosModel runs show system info on the device (a managed firewall
// through Panorama when target is set) and returns its model.
func panosModel(ctx context.Context, c *connector.Conn, target string) (string, error) {
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodPost, Path: "/api/", Form: panosForm(c, target, "type", "op", "cmd", "<show><system><info></info></system></show>")})
	if err != nil {
		return "", err
	}
	pr, err := parsePanos(c, resp)
	if err != nil {
		return "", err
	}
	if pr.Status != "success" {
		return "", connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s refused show system info: %s", c.Where(), pr.messages()))
	}
	return pr.Result.System.Model, nil
}

// panosTargets are the serial numbers of the connection's target option.
func panosTargets(c *connector.Conn) []string {
	var targets []string
	for _, t := range strings.Split(c.Option("target"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			targets = append(targets, t)
		}
	}
	return targets
}

// ipState is what one device has registered for an address: the block
// tag, and the owner tag (ownerTag) beside it.
type ipState struct{ tagged, owned bool }

// panosState asks one device which of tag and owner the address has.
func panosState(ctx context.Context, c *connector.Conn, target, ip, tag, owner string) (ipState, error) {
	var show bytes.Buffer
	show.WriteString("<show><object><registered-ip><ip>")
	_ = xml.EscapeText(&show, []byte(ip))
	show.WriteString("</ip></registered-ip></object></show>")
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodPost, Path: "/api/", Form: panosForm(c, target, "type", "op", "cmd", show.String())})
	if err != nil {
		return ipState{}, err
	}
	pr, err := parsePanos(c, resp)
	if err != nil {
		return ipState{}, err
	}
	if pr.Status != "success" {
		return ipState{}, connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s refused the registered-ip Query: %s", c.Where(), pr.messages()))
	}
	var st ipState
	for _, e := range pr.Result.Entries {
		// Whatever form the device writes the address in, as for the
		// answers to a register (sameRegisteredIP).
		if !sameRegisteredIP(strings.TrimSpace(e.IP), ip) {
			continue
		}
		for _, t := range e.Tags {
			st.tagged = st.tagged || t == tag
			st.owned = st.owned || (owner != "" && t == owner)
		}
	}
	return st, nil
}

// blockProgress is what a block saves (connector.SaveProgress) before it
// removes the owner tag its register put beside a block someone else put
// meanwhile (panosTagOn): a retry after that removal failed, or its answer
// was lost, finds both tags and would take the block for Riposte's.
type blockProgress struct {
	Foreign []foreignBlock `json:"panos_foreign"`
}

// foreignBlock is a firewall where an attempt of the block found someone
// else's block put meanwhile, with the owner tag it registered beside it;
// Removed once a removal of that owner tag was answered. Owner is empty
// (and Removed set) for a block found in place without the owner tag,
// which no attempt registered anything beside.
type foreignBlock struct {
	Target  string `json:"target"`
	IP      string `json:"ip"`
	Owner   string `json:"owner"`
	Removed bool   `json:"removed,omitempty"`
}

// blockRecord is a block's blockProgress across its attempts.
type blockRecord struct{ p blockProgress }

// loadBlockRecord reads what an earlier attempt of the block saved, and
// saves it again: this attempt's heartbeats would otherwise go without
// it, and a later retry find neither it nor the state it stood for.
func loadBlockRecord(ctx context.Context) *blockRecord {
	r := &blockRecord{}
	if connector.LoadProgress(ctx, &r.p) && len(r.p.Foreign) > 0 {
		connector.SaveProgress(ctx, r.p)
	}
	return r
}

// find returns the record of target and ip, or nil.
func (r *blockRecord) find(target, ip string) *foreignBlock {
	if r == nil {
		return nil
	}
	for i := range r.p.Foreign {
		if e := &r.p.Foreign[i]; e.Target == target && e.IP == ip {
			return e
		}
	}
	return nil
}

// set records e (replacing the record of its target and ip) and saves.
func (r *blockRecord) set(ctx context.Context, e foreignBlock) {
	if r == nil {
		return
	}
	if old := r.find(e.Target, e.IP); old != nil {
		*old = e
	} else {
		r.p.Foreign = append(r.p.Foreign, e)
	}
	connector.SaveProgress(ctx, r.p)
}

// foreignEverywhere reports whether every one of targets (firewalls
// through Panorama) has a record: a block no attempt of this step put.
func (r *blockRecord) foreignEverywhere(targets []string, ip string) bool {
	if r == nil || len(targets) == 0 {
		return false
	}
	for _, t := range targets {
		if t == "" || r.find(t, ip) == nil {
			return false
		}
	}
	return true
}

// drop forgets the record of target and ip (this attempt put its own
// block there) and saves.
func (r *blockRecord) drop(ctx context.Context, target, ip string) {
	if r == nil || r.find(target, ip) == nil {
		return
	}
	r.p.Foreign = slices.DeleteFunc(r.p.Foreign, func(e foreignBlock) bool { return e.Target == target && e.IP == ip })
	connector.SaveProgress(ctx, r.p)
}

// panosTagOn registers (or unregisters) the tag on one device, with the
// owner tag when owner is set (a block registers it where it puts the
// tag; an undo removes it with the tag); already reports that the block
// tag needed no change. rec (a block's) carries what earlier attempts
// found of blocks put by someone else. An undo with ownedOnly lifts the
// block only while it carries the owner tag, and reports a block without
// it left (someone else's, put after an earlier attempt lifted Riposte's).
func panosTagOn(ctx context.Context, c *connector.Conn, target, ip, tag, owner string, block, ownedOnly bool, rec *blockRecord) (already, left bool, err error) {
	if e := rec.find(target, ip); block && e != nil && !e.Removed {
		// An earlier attempt registered this owner tag beside a block
		// someone else put meanwhile, and its removal failed or went
		// unanswered: removed first, so the state below is no one's
		// but that block's.
		if _, err := panosSend(ctx, c, target, ip, []string{e.Owner}, false); err != nil {
			return false, false, fmt.Errorf("removing the owner tag %s an earlier attempt registered beside a block put by someone else: %w", e.Owner, err)
		}
		rec.set(ctx, foreignBlock{Target: target, IP: ip, Owner: e.Owner, Removed: true})
		c.LogAction("owner tag beside a block put by someone else removed", "ip", ip, "tag", tag, "target", target)
	}
	// Current state first: is the IP registered with the tag?
	st, err := panosState(ctx, c, target, ip, tag, owner)
	if err != nil {
		return false, false, err
	}
	if block && owner != "" && st.tagged && !st.owned && rec.find(target, ip) == nil {
		// Blocked without the owner tag: no attempt of this step put it
		// (each registers the owner tag with the block tag). Recorded, so
		// a retry that finds only such blocks knows them for someone
		// else's (foreignEverywhere).
		rec.set(ctx, foreignBlock{Target: target, IP: ip, Removed: true})
	}
	var tags []string
	switch {
	case block && !st.tagged:
		tags = []string{tag}
		if owner != "" && !st.owned {
			tags = append(tags, owner)
		}
	case !block && ownedOnly && st.tagged && !st.owned:
		// A firewall whose block carried the owner tag when this undo
		// chose it: without it now, the block is someone else's (put
		// after an earlier attempt lifted Riposte's and lost the answer).
		c.LogAction("block without owner tag left in place", "ip", ip, "tag", tag, "target", target)
		return true, true, nil
	case !block && (st.tagged || st.owned):
		if st.tagged {
			tags = []string{tag}
		}
		if st.owned {
			tags = append(tags, owner)
		}
	}
	if len(tags) == 0 || !block && !st.tagged {
		if len(tags) > 0 {
			// The owner tag of a block lifted by hand: removed, quietly.
			if _, err := panosSend(ctx, c, target, ip, tags, false); err != nil {
				return false, false, err
			}
		}
		c.LogAction("ip already in wanted state; nothing sent", "ip", ip, "tag", tag, "target", target)
		return true, false, nil
	}
	unchanged, err := panosSend(ctx, c, target, ip, tags, block)
	if err != nil {
		return false, false, err
	}
	if block && unchanged[tag] && owner != "" && slices.Contains(tags, owner) && !unchanged[owner] {
		// Someone blocked the address between the state query and the
		// register: the owner tag just put beside that block would have
		// the undo lift it. Removed, recorded first: a retry after the
		// removal failed would find both tags and take the block for
		// Riposte's.
		rec.set(ctx, foreignBlock{Target: target, IP: ip, Owner: owner})
		if _, err := panosSend(ctx, c, target, ip, []string{owner}, false); err != nil {
			return false, false, fmt.Errorf("removing the owner tag %s registered beside a block put meanwhile: %w", owner, err)
		}
		rec.set(ctx, foreignBlock{Target: target, IP: ip, Owner: owner, Removed: true})
		c.LogAction("block put meanwhile by someone else; owner tag removed", "ip", ip, "tag", tag, "target", target)
	}
	if unchanged[tag] {
		return true, false, nil
	}
	if block {
		// This attempt put its own block here.
		rec.drop(ctx, target, ip)
	}
	c.LogAction("changed ip registration", "ip", ip, "tag", tag, "block", block, "target", target)
	return false, false, nil
}

// panosSend registers (or unregisters) tags for ip on one device and
// returns the tags the device answered needed no change (a register of a
// tag already there, an unregister of one that is not). A message carries
// several tags, and PAN-OS answers per entry: one tag's "already exists"
// says nothing of the others (uidUnchanged).
func panosSend(ctx context.Context, c *connector.Conn, target, ip string, tags []string, register bool) (unchanged map[string]bool, err error) {
	msg, err := uidMessage(register, ip, tags)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodPost, Path: "/api/", Form: panosForm(c, target, "type", "user-id", "cmd", msg)})
	if err != nil {
		return nil, err
	}
	pr, err := parsePanos(c, resp)
	if err != nil {
		return nil, err
	}
	unchanged, explained, problem := uidUnchanged(pr, ip, tags, register)
	if problem == "" && (pr.Status == "success" || explained) {
		return unchanged, nil
	}
	m, sep := pr.messages(), ": "
	if entries := pr.uidEntries(); len(entries) > 0 {
		// Each entry with its address (the uid-response's version and
		// the bare messages say nothing of which address they are for).
		lines := make([]string, len(entries))
		for i, e := range entries {
			lines[i] = e.ip + ": " + e.message
		}
		m, sep = strings.Join(lines, "; "), "; the answer's entries: "
		if problem == "" && !explained {
			problem = "no entry for " + ip
		}
	}
	if m == "" {
		m = "status=" + pr.Status
	}
	if problem != "" {
		m = problem + sep + m
	}
	return nil, connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s answered HTTP %d with an error: %s", c.Where(), resp.Status, m))
}

// uidEntry is one per-entry answer of a User-ID register or unregister,
// <uid-response><payload><register|unregister><entry ip="…" message="…"/>
// (testdata/README.md): one entry per address and tag the device did not
// apply.
type uidEntry struct{ op, ip, message string }

// uidEntries lists the per-entry answers of a User-ID update, wherever the
// uid-response sits (msg/line in an error, result in a success).
func (r *panosResponse) uidEntries() []uidEntry {
	dec := xml.NewDecoder(bytes.NewReader(r.Inner))
	var stack []string
	var out []uidEntry
	for {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := len(stack)
			if t.Name.Local == "entry" && n >= 3 && (stack[n-1] == "register" || stack[n-1] == "unregister") && stack[n-2] == "payload" && stack[n-3] == "uid-response" {
				e := uidEntry{op: stack[n-1]}
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "ip":
						e.ip = strings.TrimSpace(a.Value)
					case "message":
						e.message = strings.TrimSpace(a.Value)
					}
				}
				out = append(out, e)
			}
			stack = append(stack, t.Name.Local)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
}

// PAN-OS's "nothing to do" answers to a register and an unregister
// ("tag T already exists, ignore"; "… does not exist, ignore unreg").
const (
	uidAlreadyThere = "already exists, ignore"
	uidNotThere     = "does not exist, ignore unreg"
)

// uidUnchanged reads the per-entry answers to a register (or unregister)
// of tags on ip: the tags the device left as they were, and whether the
// answers explain an error envelope (every entry for ip is a "nothing to
// do"). Entries for other addresses say nothing of ip. An entry names its tag ("tag T already
// exists, ignore"); one that names none is counted against the tags no
// entry named, and stands for them all only when there are as many such
// entries. problem is set when the answer cannot be read so: an entry
// with another error, or (for a register) "already" entries that do not
// say which tags, since taking the block tag for someone else's, or
// Riposte's, on a guess decides which block an undo lifts.
func uidUnchanged(pr *panosResponse, ip string, tags []string, register bool) (unchanged map[string]bool, explained bool, problem string) {
	op, nothing := "register", uidAlreadyThere
	if !register {
		op, nothing = "unregister", uidNotThere
	}
	unchanged = map[string]bool{}
	all := pr.uidEntries()
	entries, unnamed := 0, 0
	for _, e := range all {
		if e.op != op || !sameRegisteredIP(e.ip, ip) {
			continue
		}
		entries++
		if !strings.HasSuffix(e.message, nothing) {
			return nil, false, fmt.Sprintf("%s of %s refused", op, ip)
		}
		if t, ok := namedTag(e.message, tags); ok {
			unchanged[t] = true
		} else {
			unnamed++
		}
	}
	if len(all) == 0 && pr.Status != "success" && len(tags) == 1 && strings.Contains(pr.messages(), nothing) {
		// The answer without per-entry elements: one tag, nothing to tell apart.
		unchanged[tags[0]] = true
		entries = 1
	}
	if unnamed > 0 {
		var rest []string
		for _, t := range tags {
			if !unchanged[t] {
				rest = append(rest, t)
			}
		}
		switch {
		case unnamed >= len(rest):
			for _, t := range rest {
				unchanged[t] = true
			}
		case register:
			return nil, false, fmt.Sprintf("cannot tell which of the tags %s of %s were there already", strings.Join(rest, ", "), ip)
		}
		// An unregister that does not say which tag was missing: none is
		// taken for unchanged (the call did send the block tag's removal).
	}
	return unchanged, entries > 0, ""
}

// namedTag is the tag of tags a per-entry message names ("tag T …").
func namedTag(message string, tags []string) (string, bool) {
	best := ""
	for _, t := range tags {
		if strings.HasPrefix(message, "tag "+t+" ") && len(t) > len(best) {
			best = t
		}
	}
	return best, best != ""
}

// sameRegisteredIP compares the address an entry names with the one sent
// (normalized by registeredIP), whatever form the device writes it in.
func sameRegisteredIP(got, sent string) bool {
	if got == sent {
		return true
	}
	n, err := registeredIP(got)
	return err == nil && n == sent
}

// registeredIP normalizes what User-ID can register: one address, a
// network in canonical form, or an ascending range of one family
// ("registered-ip: Tag to IP (host, network, range)", PAN-OS 10.0+).
func registeredIP(s string) (string, error) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.Unmap().String(), nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return "", fmt.Errorf("%q is not an IP address, network or range", s)
		}
		if p.Masked() != p {
			return "", fmt.Errorf("network %s has host bits set; did you mean %s?", s, p.Masked())
		}
		return p.String(), nil
	}
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		a, err1 := netip.ParseAddr(strings.TrimSpace(lo))
		b, err2 := netip.ParseAddr(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil || a.Zone() != "" || b.Zone() != "" {
			return "", fmt.Errorf("%q is not an IP address, network or range", s)
		}
		if a.Is4() != b.Is4() || b.Less(a) {
			return "", fmt.Errorf("range %s must go up within one address family", s)
		}
		return a.String() + "-" + b.String(), nil
	}
	return "", fmt.Errorf("%q is not an IP address, network or range", s)
}

// validTag applies PAN-OS object-name rules to a tag: 1-127 characters,
// letters, digits, spaces, hyphens, underscores and periods ("Use only
// letters, numbers, spaces, hyphens, periods, and underscores"), no
// leading or trailing space, and not one of the words dynamic address
// group filters use as operators (and, or, not), which would turn the
// group's match criteria into another expression.
func validTag(tag string) error {
	if tag == "" || len(tag) > 127 {
		return fmt.Errorf("tag must be 1 to 127 characters")
	}
	if strings.TrimSpace(tag) != tag {
		return fmt.Errorf("tag %q starts or ends with a space", tag)
	}
	for _, r := range tag {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ' ' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("tag %q has %q: PAN-OS names take letters, digits, spaces, '-', '_' and '.'", tag, r)
		}
	}
	switch strings.ToLower(tag) {
	case "and", "or", "not":
		return fmt.Errorf("tag %q is a dynamic address group filter operator", tag)
	}
	return nil
}

// uidMessage builds the User-ID register/unregister document.
func uidMessage(register bool, ip string, tags []string) (string, error) {
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
		m.Payload.Register = &list{Entries: []entry{{IP: ip, Persistent: "1", Tags: tags}}}
	} else {
		m.Payload.Unregister = &list{Entries: []entry{{IP: ip, Tags: tags}}}
	}
	b, err := xml.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encoding uid-message: %w", err)
	}
	return string(b), nil
}

// check runs show system info, and refuses a Panorama without target;
// with target, it runs it on each firewall through Panorama, so the key,
// the Panorama and every serial are checked.
func check(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	if err := c.UseSecretHeader("api_key", "X-PAN-KEY", ""); err != nil {
		return nil, err
	}
	targets := panosTargets(c)
	if len(targets) == 0 {
		if err := panosRefusePanorama(ctx, c); err != nil {
			return nil, err
		}
		model, _ := c.Env.Recall("panos-model\x00" + c.Name + "\x00" + c.BaseURL())
		return map[string]any{"detail": "API key ok; device model " + model}, nil
	}
	var models []string
	for _, t := range targets {
		model, err := panosModel(ctx, c, t)
		if err != nil {
			return nil, fmt.Errorf("firewall %s (target): %w", t, err)
		}
		models = append(models, t+" "+model)
	}
	return map[string]any{"detail": "API key ok; firewalls through Panorama: " + strings.Join(models, ", ")}, nil
}

// firstAttempt reports whether ctx is the first attempt of its activity
// with nothing recorded by an earlier one: only then does a target found
// in the state asked for show that no attempt of the step made it so (as
// activities.preexisting decides). Outside an activity: false.
func firstAttempt(ctx context.Context) bool {
	return activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt == 1 && !activity.HasHeartbeatDetails(ctx)
}
