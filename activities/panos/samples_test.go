package panos_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// The fake against PAN-OS's documented answers, and the connector on those
// answers as they are (testdata/README.md).
func TestDocumentedSamples(t *testing.T) {
	systemInfo, registered := connectortest.Sample(t, "show-system-info.xml"), connectortest.Sample(t, "show-registered-ip.xml")
	regOK, unregOK := connectortest.Sample(t, "uid-register-success.xml"), connectortest.Sample(t, "uid-unregister-success.xml")
	noNode, badParam := connectortest.Sample(t, "error-no-such-node.xml"), connectortest.Sample(t, "error-400-msg.xml")
	regExists := connectortest.Sample(t, "uid-register-already-exists.xml")

	// The fake answers in the documented shapes.
	h := connectortest.New(t)
	conn := h.Lab.Connections()["panos"]
	call := func(kv ...string) []byte {
		t.Helper()
		f := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		req, _ := http.NewRequest(http.MethodPost, conn.BaseURL+"/api/", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-PAN-KEY", conn.Secrets["api_key"].Lab)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	uid := func(op, ip string) string {
		return `<uid-message><version>2.0</version><type>update</type><payload><` + op + `><entry ip="` + ip +
			`"><tag><member>malicious</member></tag></entry></` + op + `></payload></uid-message>`
	}
	for _, c := range []struct {
		name     string
		got, doc []byte
	}{
		{"show system info", call("type", "op", "cmd", "<show><system><info></info></system></show>"), systemInfo},
		{"register", call("type", "user-id", "cmd", uid("register", "10.0.0.1")), regOK},
		{"show registered-ip", call("type", "op", "cmd", "<show><object><registered-ip><all></all></registered-ip></object></show>"), registered},
		{"unregister", call("type", "user-id", "cmd", uid("unregister", "10.0.0.1")), unregOK},
		{"register of a tag already there", func() []byte {
			call("type", "user-id", "cmd", uid("register", "10.0.0.9"))
			return call("type", "user-id", "cmd", uid("register", "10.0.0.9"))
		}(), regExists},
		{"error", call("type", "op", "cmd", "<show><nonsense/></show>"), noNode},
	} {
		if d := xmlShapeDiff(t, c.got, c.doc); len(d) > 0 {
			t.Errorf("%s: the fake's answer departs from the documented one: %v\n%s", c.name, d, c.got)
		}
	}
	if got := call("type", "op", "cmd", "<show><system><info></info></system></show>"); !bytes.Contains(got, []byte("<model>PA-440</model>")) {
		t.Errorf("show system info: the lab's model is not in %s", got)
	}

	// The connector on the documented answers as they are: the documented
	// listing has 10.0.0.1 and 10.0.0.2 tagged "malicious".
	var mu sync.Mutex
	var sent []string // user-id documents received
	var opAnswer []byte
	runs := 0
	uidAnswer := func(cmd string) []byte {
		if strings.Contains(cmd, "<unregister>") {
			return unregOK
		}
		return regOK
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/xml")
		mu.Lock()
		defer mu.Unlock()
		cmd := r.Form.Get("cmd")
		switch {
		case r.Form.Get("type") == "user-id":
			sent = append(sent, cmd)
			_, _ = w.Write(uidAnswer(cmd))
		case strings.Contains(cmd, "<system><info>"):
			_, _ = w.Write(systemInfo)
		default:
			_, _ = w.Write(opAnswer)
		}
	}))
	defer srv.Close()
	h.Env.Connections["panos"] = activities.Connection{Type: "panos", BaseURL: srv.URL,
		Secrets: map[string]activities.SecretRef{"api_key": {Lab: "k"}}}
	runTag := func(action, ip, tag string) (map[string]any, []string, error) {
		t.Helper()
		mu.Lock()
		sent = nil
		runs++
		key := "k" + strconv.Itoa(runs)
		mu.Unlock()
		out, err := h.Run(action, map[string]any{"ip": ip, "tag": tag}, key)
		mu.Lock()
		defer mu.Unlock()
		return out, sent, err
	}
	run := func(action, ip string) (map[string]any, []string, error) {
		t.Helper()
		return runTag(action, ip, "malicious")
	}
	opAnswer = registered
	for _, c := range []struct {
		action, ip string
		already    bool
		op         string // the operation sent, "" for none
	}{
		{"panos.block_ip", "10.0.0.1", true, ""},
		{"panos.block_ip", "10.0.0.3", false, "<register>"},
		{"panos.unblock_ip", "10.0.0.2", false, "<unregister>"},
		{"panos.unblock_ip", "10.0.0.3", true, ""},
	} {
		out, docs, err := run(c.action, c.ip)
		if err != nil {
			t.Errorf("%s %s: %v", c.action, c.ip, err)
			continue
		}
		if out["already"] != c.already || (c.op == "") != (len(docs) == 0) || (c.op != "" && !strings.Contains(docs[0], c.op)) {
			t.Errorf("%s %s: out %v, sent %q", c.action, c.ip, out, docs)
		}
	}
	// The per-entry answers of a register with nothing to do (PAN-OS 6.0+):
	// the entry for the address sent says the tag was there already. An
	// error whose entries name only other addresses explains nothing about
	// this one: a failure, not "already blocked".
	uidAnswer = func(string) []byte { return regExists }
	if out, _, err := runTag("panos.block_ip", "192.168.1.2", "your-tag"); err != nil || out["already"] != true {
		t.Errorf("register answered with the documented per-entry \"already exists\": out %v, err %v", out, err)
	}
	if out, _, err := runTag("panos.block_ip", "192.168.1.4", "your-tag"); err == nil || !strings.Contains(err.Error(), "already exists, ignore") {
		t.Errorf("register answered with entries for other addresses only: out %v, err %v, want a failure quoting them", out, err)
	} else if msg := err.Error(); !strings.Contains(msg, "no entry for 192.168.1.4") ||
		!strings.Contains(msg, "192.168.1.2: tag your-tag already exists, ignore") || strings.Contains(msg, "2.0;") {
		// The operator reads "already exists, ignore" in a failure: the
		// message says the entries are for other addresses, naming each
		// entry's address, without the uid-response's version.
		t.Errorf("register answered with entries for other addresses only: error %q, want it to say no entry is for 192.168.1.4 and name each entry's address", msg)
	}
	uidAnswer = func(cmd string) []byte {
		if strings.Contains(cmd, "<unregister>") {
			return unregOK
		}
		return regOK
	}

	// An error inside HTTP 200 fails the step with PAN-OS's message.
	opAnswer = noNode
	if _, _, err := run("panos.block_ip", "10.0.0.3"); err == nil || !strings.Contains(err.Error(), "No such node") {
		t.Errorf("documented error envelope: err = %v", err)
	}
	opAnswer, uidAnswer = registered, func(string) []byte { return badParam }
	if _, _, err := run("panos.block_ip", "10.0.0.4"); err == nil || !strings.Contains(err.Error(), `Parameter "format" is required`) {
		t.Errorf("documented error with code and result/msg: err = %v", err)
	}
}

// xmlShapeDiff lists the element and attribute paths where got and the
// documented answer doc differ: present in one and not the other (text is
// not compared).
func xmlShapeDiff(t *testing.T, got, doc []byte) []string {
	t.Helper()
	docPaths, gotPaths := xmlPaths(t, doc), xmlPaths(t, got)
	var out []string
	for _, p := range gotPaths.order {
		if !docPaths.set[p] {
			out = append(out, p+" (not in the documented answer)")
		}
	}
	for _, p := range docPaths.order {
		if !gotPaths.set[p] {
			out = append(out, p+" (missing from the answer)")
		}
	}
	return out
}

type pathSet struct {
	set   map[string]bool
	order []string
}

func xmlPaths(t *testing.T, b []byte) pathSet {
	t.Helper()
	ps := pathSet{set: map[string]bool{}}
	add := func(p string) {
		if !ps.set[p] {
			ps.set[p] = true
			ps.order = append(ps.order, p)
		}
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var stack []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%v in %s", err, b)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			stack = append(stack, e.Name.Local)
			p := "/" + strings.Join(stack, "/")
			add(p)
			for _, a := range e.Attr {
				add(p + "@" + a.Name.Local)
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	return ps
}
