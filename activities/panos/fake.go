package panos

import (
	"bytes"
	_ "embed"
	"encoding/xml"
	"fmt"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/labkit"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// PAN-OS XML API fake: type=user-id register/unregister of IP tags (the
// dynamic address group path, no commit) and the op command that lists
// registered IPs. Like the firewall, it answers most errors with HTTP 200
// and <response status="error">; a bad key gets 403.
//
// /panos is a firewall (model PA-440). /panorama is a Panorama managing
// two firewalls (PanoramaSerials): a request with target=<serial> is
// proxied to that firewall's own table; without target, User-ID updates
// land in Panorama's own table, which enforces nothing (pan.xapi docs:
// "target: serial number of managed firewall to redirect the API request
// to"). Registered-ip entries accept a single address, a network
// (10.1.1.0/24) or a range (10.1.1.1-10.1.1.9), as PAN-OS 10.0 and later
// do (pan-python's User-ID API notes: "registered-ip: Tag to IP (host,
// network, range)").
//
// Answers are in the documented shapes (testdata/README.md): show system
// info is PAN-OS's documented answer with the lab's host name and model;
// show registered-ip lists entries as documented (ip, from_agent,
// persistent, tag/member, count); a register or unregister answers
// <uid-response><version>2.0</version><payload><register/></payload>, the
// documented success; errors are <response status="error"> with
// <msg><line> (as in pango's error tests). A register of a tag already
// there, or an unregister of one that is not, answers the firewall's
// per-entry messages where pan-python reads them
// (msg/line/uid-response/payload/<register|unregister>/entry).

// systemInfo is PAN-OS's documented show system info answer.
//
//go:embed testdata/show-system-info.xml
var systemInfo string

type registration struct {
	tags  map[string]bool
	since time.Time
}

func panosXML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func panosErr(w http.ResponseWriter, status int, msg string) {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(msg))
	panosXML(w, status, `<response status="error"><msg><line>`+b.String()+`</line></msg></response>`)
}

func panosFault(w http.ResponseWriter, f *labkit.Fault) {
	switch f.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		panosXML(w, http.StatusForbidden, `<response status = 'error' code = '403'><result><msg>Invalid Credential</msg></result></response>`)
	default:
		panosErr(w, f.Status, http.StatusText(f.Status))
	}
}

type fakeUIDEntry struct {
	IP   string   `xml:"ip,attr"`
	Tags []string `xml:"tag>member"`
}

type fakeUIDMessage struct {
	XMLName xml.Name `xml:"uid-message"`
	Version string   `xml:"version"`
	Type    string   `xml:"type"`
	Payload *struct {
		Register *struct {
			Entries []fakeUIDEntry `xml:"entry"`
		} `xml:"register"`
		Unregister *struct {
			Entries []fakeUIDEntry `xml:"entry"`
		} `xml:"unregister"`
	} `xml:"payload"`
}

type showRegistered struct {
	XMLName xml.Name `xml:"show"`
	Object  *struct {
		Registered *struct {
			IP  string    `xml:"ip"`
			All *struct{} `xml:"all"`
			Tag *struct {
				Entry struct {
					Name string `xml:"name,attr"`
				} `xml:"entry"`
			} `xml:"tag"`
		} `xml:"registered-ip"`
	} `xml:"object"`
}

// Routes implements labkit.Fake.
func (fk *Fake) Routes(mux *http.ServeMux) {
	h := func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !labkit.IsForm(r) {
			panosErr(w, http.StatusBadRequest, "Content-Type must be application/x-www-form-urlencoded")
			return
		}
		if err := r.ParseForm(); err != nil {
			panosErr(w, http.StatusBadRequest, "invalid request")
			return
		}
		key := r.Header.Get("X-PAN-KEY")
		if key == "" {
			key = r.Form.Get("key")
		}
		if key != panosKey {
			panosXML(w, http.StatusForbidden, `<response status = 'error' code = '403'><result><msg>Invalid Credential</msg></result></response>`)
			return
		}
		cmd := r.Form.Get("cmd")
		fk.Mu.Lock()
		table, model, ok := fk.panosTable(w, r)
		fk.Mu.Unlock()
		if !ok {
			return
		}
		switch r.Form.Get("type") {
		case "op":
			fk.panosOp(w, cmd, table, model)
		case "user-id":
			fk.panosUserID(w, r, cmd, table)
		case "":
			panosXML(w, http.StatusBadRequest, `<response status="error" code="400"><result><msg>Missing type</msg></result></response>`)
		default:
			panosErr(w, http.StatusOK, "type "+r.Form.Get("type")+" is not supported by the lab (op, user-id)")
		}
	}
	// Reads (type=op) and writes (type=user-id) share one endpoint.
	classify := func(r *http.Request) labkit.RouteKind {
		if r.ParseForm() == nil && r.Form.Get("type") == "user-id" {
			return labkit.MutateRoute
		}
		return labkit.ReadRoute
	}
	fk.HandleClassified(mux, vendorName, "POST /panos/api/", classify, panosFault, h)
	fk.HandleClassified(mux, vendorName, "GET /panos/api/", classify, panosFault, h)
	fk.HandleClassified(mux, vendorName, "POST /panorama/api/", classify, panosFault, h)
	fk.HandleClassified(mux, vendorName, "GET /panorama/api/", classify, panosFault, h)
}

// PanoramaSerials are the serial numbers of the firewalls the lab's
// Panorama manages.
var PanoramaSerials = []string{"007951000123456", "007951000654321"}

// panosTable picks the registration table a request acts on, and the
// device's model; ok is false (with an answer written) for an unknown
// target.
func (fk *Fake) panosTable(w http.ResponseWriter, r *http.Request) (table map[string]*registration, model string, ok bool) {
	target := r.Form.Get("target")
	if !strings.HasPrefix(r.URL.Path, "/panorama/") {
		if target != "" {
			panosErr(w, http.StatusOK, "target is only valid on Panorama")
			return nil, "", false
		}
		return fk.firewall, "PA-440", true
	}
	if target == "" {
		return fk.panoramaOwn, "Panorama", true
	}
	for _, s := range PanoramaSerials {
		if s == target {
			if fk.panoramaFW[s] == nil {
				fk.panoramaFW[s] = map[string]*registration{}
			}
			return fk.panoramaFW[s], "PA-3220", true
		}
	}
	panosErr(w, http.StatusOK, "Device "+target+" is not connected or is not managed by this Panorama")
	return nil, "", false
}

// PanoramaRegistered lists the tags registered for ip on one managed
// firewall (serial), or in Panorama's own table (serial "").
func (fk *Fake) PanoramaRegistered(serial, ip string) []string {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	t := fk.panoramaOwn
	if serial != "" {
		t = fk.panoramaFW[serial]
	}
	if reg := t[ip]; reg != nil {
		return labkit.SortedKeys(reg.tags)
	}
	return nil
}

// PanoramaURL is the base URL of the lab's Panorama.
func (fk *Fake) PanoramaURL() string { return fk.URL + "/panorama" }

// validRegisteredIP accepts what PAN-OS 10+ registers: an address, a
// network in canonical form, or an ascending range of one family.
func validRegisteredIP(s string) (string, bool) {
	if a, err := netip.ParseAddr(s); err == nil && !strings.Contains(s, "%") {
		return a.String(), true
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Masked() != p {
			return "", false
		}
		return p.String(), true
	}
	if lo, hi, found := strings.Cut(s, "-"); found {
		a, err1 := netip.ParseAddr(lo)
		b, err2 := netip.ParseAddr(hi)
		if err1 == nil && err2 == nil && a.Is4() == b.Is4() && !b.Less(a) {
			return a.String() + "-" + b.String(), true
		}
	}
	return "", false
}

func (fk *Fake) panosOp(w http.ResponseWriter, cmd string, table map[string]*registration, model string) {
	if strings.ReplaceAll(cmd, " ", "") == "<show><system><info></info></system></show>" || strings.ReplaceAll(cmd, " ", "") == "<show><system><info/></system></show>" {
		host := "lab-" + strings.ToLower(model)
		panosXML(w, http.StatusOK, strings.NewReplacer("<hostname>PA-3050-A</hostname>", "<hostname>"+host+"</hostname>",
			"<devicename>PA-3050-A</devicename>", "<devicename>"+host+"</devicename>",
			"<model>PA-3050</model>", "<model>"+model+"</model>").Replace(systemInfo))
		return
	}
	var show showRegistered
	if err := xml.Unmarshal([]byte(cmd), &show); err != nil || show.Object == nil || show.Object.Registered == nil {
		panosErr(w, http.StatusOK, "Invalid syntax.")
		return
	}
	q := show.Object.Registered
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	var b strings.Builder
	b.WriteString(`<response status="success"><result>`)
	n := 0
	for _, ip := range labkit.SortedKeys(table) {
		reg := table[ip]
		if len(reg.tags) == 0 || (q.IP != "" && q.IP != ip) || (q.Tag != nil && !reg.tags[q.Tag.Entry.Name]) {
			continue
		}
		n++
		fmt.Fprintf(&b, `<entry ip="%s" from_agent="0" persistent="1"><tag>`, ip)
		for _, t := range labkit.SortedKeys(reg.tags) {
			b.WriteString("<member>")
			_ = xml.EscapeText(&b, []byte(t))
			b.WriteString("</member>")
		}
		b.WriteString("</tag></entry>")
	}
	fmt.Fprintf(&b, "<count>%d</count></result></response>", n)
	panosXML(w, http.StatusOK, b.String())
}

func (fk *Fake) panosUserID(w http.ResponseWriter, r *http.Request, cmd string, table map[string]*registration) {
	var m fakeUIDMessage
	if err := xml.Unmarshal([]byte(cmd), &m); err != nil {
		panosErr(w, http.StatusOK, "Failed to parse uid-message: "+err.Error())
		return
	}
	if m.Type != "update" || m.Payload == nil || (m.Payload.Register == nil && m.Payload.Unregister == nil) {
		panosErr(w, http.StatusOK, "uid-message needs <type>update</type> and a <payload> with <register> or <unregister>")
		return
	}
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	msgs := map[string][]string{} // per-entry messages by operation, PAN-OS style
	do := func(entries []fakeUIDEntry, register bool) {
		op := "register"
		if !register {
			op = "unregister"
		}
		for _, e := range entries {
			ip, valid := validRegisteredIP(e.IP)
			if !valid {
				msgs[op] = append(msgs[op], fmt.Sprintf(`<entry ip="%s" message="Failed to %s ip %s: invalid ip"/>`, xmlAttr(e.IP), op, xmlAttr(e.IP)))
				continue
			}
			reg := table[ip]
			if reg == nil {
				reg = &registration{tags: map[string]bool{}}
				table[ip] = reg
			}
			for _, t := range e.Tags {
				switch {
				case register && reg.tags[t]:
					fk.Record(r, vendorName, op, ip, false, http.StatusOK, "tag "+t+" already registered")
					msgs[op] = append(msgs[op], fmt.Sprintf(`<entry ip="%s" message="tag %s already exists, ignore"/>`, ip, xmlAttr(t)))
				case register:
					if len(reg.tags) == 0 {
						reg.since = time.Now().UTC()
					}
					reg.tags[t] = true
					fk.Record(r, vendorName, op, ip, true, http.StatusOK, "tag "+t)
				case !reg.tags[t]:
					fk.Record(r, vendorName, op, ip, false, http.StatusOK, "tag "+t+" not registered")
					msgs[op] = append(msgs[op], fmt.Sprintf(`<entry ip="%s" message="ip %s does not exist, ignore unreg"/>`, ip, ip))
				default:
					delete(reg.tags, t)
					fk.Record(r, vendorName, op, ip, true, http.StatusOK, "tag "+t)
				}
			}
		}
	}
	if m.Payload.Register != nil {
		do(m.Payload.Register.Entries, true)
	}
	if m.Payload.Unregister != nil {
		do(m.Payload.Unregister.Entries, false)
	}
	// The payload names the operations sent, as documented:
	// <payload><register></register></payload>.
	var payload strings.Builder
	for _, op := range []string{"register", "unregister"} {
		if (op == "register" && m.Payload.Register == nil) || (op == "unregister" && m.Payload.Unregister == nil) {
			continue
		}
		payload.WriteString("<" + op + ">" + strings.Join(msgs[op], "") + "</" + op + ">")
	}
	if len(msgs) > 0 {
		panosXML(w, http.StatusOK, `<response status="error"><msg><line><uid-response><version>2.0</version><payload>`+
			payload.String()+`</payload></uid-response></line></msg></response>`)
		return
	}
	panosXML(w, http.StatusOK, `<response status="success"><result><uid-response><version>2.0</version><payload>`+
		payload.String()+`</payload></uid-response></result></response>`)
}

func xmlAttr(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), `"`, "&#34;")
}

// vendorName is the fake's name: the connection type, the key of its
// faults, calls and requests.
const vendorName = "panos"

// Lab credentials. They are public test constants, not secrets.
const panosKey = "lab-panos-key"

// Fake is the lab's PAN-OS fake: a firewall under /panos and a Panorama
// under /panorama (see the top of this file).
type Fake struct {
	labkit.Base
	firewall map[string]*registration // ip -> tags
	// panoramaOwn is Panorama's own User-ID table; panoramaFW the
	// managed firewalls' tables by serial.
	panoramaOwn map[string]*registration
	panoramaFW  map[string]map[string]*registration
}

// NewFake returns the fake, serving on the lab of k.
func NewFake(k *labkit.Kit) *Fake {
	return &Fake{Base: labkit.NewBase(k, vendorName), firewall: map[string]*registration{}, panoramaOwn: map[string]*registration{},
		panoramaFW: map[string]map[string]*registration{}}
}

// Connections implements labkit.Fake.
func (fk *Fake) Connections() map[string]connector.Connection {
	return map[string]connector.Connection{
		vendorName: {Type: vendorName, BaseURL: fk.URL + "/panos",
			Options: map[string]string{"tag": "riposte-blocked"},
			Secrets: map[string]connector.SecretRef{"api_key": labkit.Lit(panosKey)}},
	}
}

// Snapshot implements labkit.Fake: the firewall's tagged IPs.
func (fk *Fake) Snapshot(st *labkit.State) {
	for _, ip := range labkit.SortedKeys(fk.firewall) {
		reg := fk.firewall[ip]
		if len(reg.tags) == 0 {
			continue
		}
		st.BlockedIPs = append(st.BlockedIPs, labkit.BlockedIP{IP: ip, Tags: labkit.SortedKeys(reg.tags), Since: reg.since})
	}
}
