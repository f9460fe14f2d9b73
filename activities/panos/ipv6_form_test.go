package panos_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities/panos"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// The connector reads a User-ID answer's entry for the address it sent
// whatever form the device writes it in (sameRegisteredIP: an IPv6
// address written "2001:DB8:0::1" for 2001:db8::1). Its state query
// compared the registered-ip listing's ip="…" with the normalized address
// as a string: a listing in that other form showed no block, so the undo
// of Riposte's own block lifted nothing and answered already (the block
// left forever), and a block registered its tags again. The listing is
// read as the answers are.
func TestStateQueryReadsAnIPv6AddressWrittenOtherwise(t *testing.T) {
	const sent, written = "2001:db8::1", "2001:DB8:0::1"
	h := connectortest.New(t)
	fake := lab.Fake[*panos.Fake](h.Lab)
	up, err := url.Parse(strings.TrimSuffix(fake.PanoramaURL(), "/panorama"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(up)
	proxy.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		body = bytes.ReplaceAll(body, []byte(`ip="`+sent+`"`), []byte(`ip="`+written+`"`))
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Del("Content-Length")
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	labConn(h, srv.URL+"/panorama", panos.PanoramaSerials[0])

	h.MustRun("panos.block_ip", map[string]any{"ip": sent}, "k1")
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], sent); len(tags) != 2 {
		t.Fatalf("tags %v after the block: want the block tag and its owner tag", tags)
	}
	if out := h.MustRun("panos.block_ip", map[string]any{"ip": sent}, "k2"); out["already"] != true {
		t.Errorf("second block out %v: want already (the listing shows the block)", out)
	}
	out := h.MustRun("panos.unblock_ip", map[string]any{"ip": sent}, "k3")
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], sent); len(tags) != 0 {
		t.Errorf("tags %v after the undo (out %v): Riposte's block was left in place", tags, out)
	}
}
