package e2e

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/cli"
)

// listening returns the TCP sockets this process listens on, as
// "ip:port" by socket inode, read from /proc (Linux).
func listening(t *testing.T) map[string]string {
	t.Helper()
	mine := map[string]bool{}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			mine[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	out := map[string]string{}
	for _, f := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue // no IPv6
		}
		sc := bufio.NewScanner(fh)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(fields) < 10 || fields[3] != "0A" || !mine[fields[9]] {
				continue
			}
			out[fields[9]] = procAddr(t, fields[1])
		}
		fh.Close()
	}
	return out
}

// procAddr decodes /proc/net/tcp's "0100007F:1F90" (address in host byte
// order by 32-bit word).
func procAddr(t *testing.T, s string) string {
	t.Helper()
	h, p, _ := strings.Cut(s, ":")
	b, err := hex.DecodeString(h)
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	port, _ := strconv.ParseUint(p, 16, 16)
	return net.JoinHostPort(net.IP(b).String(), strconv.Itoa(int(port)))
}

func portOf(t *testing.T, hostport string) string {
	t.Helper()
	if u, err := url.Parse(hostport); err == nil && u.Host != "" {
		hostport = u.Host
	}
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatalf("%q: %v", hostport, err)
	}
	return p
}

// Every listener of riposte dev — API (with the codec and /lab/slack),
// Web UI, Temporal frontend gRPC and its HTTP API when enabled, the
// internal Temporal services, metrics, the vendor lab and the Slack fake —
// binds a loopback address, and nothing else listens.
func TestDevListensOnLoopbackOnly(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the process's listening sockets from /proc (Linux only)")
	}
	t.Setenv("SLACK_BOT_TOKEN", "")
	before := listening(t)
	h := startDevForTest(t, t.TempDir(), func(o *cli.DevOptions) {
		o.SlackFake = true
		o.TemporalHTTPPort = 0 // the frontend's HTTP API, asked for
		o.Observe.MetricsAddr = ":0"
	})
	defer h.sys.Close()
	if h.sys.Lab == nil || !h.sys.SlackFake || h.sys.MetricsURL == "" || h.sys.Server.HTTPAddress() == "" {
		t.Fatalf("not every listener is on: lab %v, slack fake %v, metrics %q, frontend HTTP %q",
			h.sys.Lab != nil, h.sys.SlackFake, h.sys.MetricsURL, h.sys.Server.HTTPAddress())
	}
	after := listening(t)
	ports := map[string]string{}
	for inode, addr := range after {
		if _, ok := before[inode]; ok {
			continue
		}
		host, port, _ := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			t.Errorf("riposte dev listens on %s: not a loopback address", addr)
		}
		ports[port] = addr
	}
	for what, addr := range map[string]string{
		"API and codec":          h.sys.API.URL,
		"Web UI":                 h.sys.Server.UIURL(),
		"Temporal gRPC":          h.sys.Server.FrontendAddress(),
		"Temporal frontend HTTP": h.sys.Server.HTTPAddress(),
		"metrics":                h.sys.MetricsURL,
		"vendor lab":             h.sys.Lab.URL(),
	} {
		if _, ok := ports[portOf(t, addr)]; !ok {
			t.Errorf("%s (%s) is not among the listeners found: %v", what, addr, ports)
		}
	}
	if len(ports) < 6 {
		t.Errorf("found only %d new listeners: %v", len(ports), ports)
	}
}

// The UI's codec calls authenticate by the per-start session secret in
// the endpoint the UI is configured with, not by an Origin header: a local
// process forging the UI's Origin is refused, the endpoint the UI gets
// decodes, a second start draws another secret, and DNS-rebinding Host
// headers are refused by the UI and the codec.
func TestDevCodecSessionSecret(t *testing.T) {
	h := startDevForTest(t, t.TempDir())
	defer h.sys.Close()
	ui := h.sys.Server.UIURL()

	resp, err := http.Get(ui + "/api/v1/settings")
	if err != nil {
		t.Fatal(err)
	}
	var settings struct{ Codec struct{ Endpoint string } }
	err = json.NewDecoder(resp.Body).Decode(&settings)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := h.baseURL + "/codec/" + h.sys.CodecSession
	if settings.Codec.Endpoint != want || len(h.sys.CodecSession) < 40 {
		t.Fatalf("UI codec endpoint = %q, want %q", settings.Codec.Endpoint, want)
	}

	post := func(u, origin, host string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", u, strings.NewReader(`{"payloads":[]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "default")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		name, url, origin, host string
		want                    int
	}{
		{"the UI's endpoint", settings.Codec.Endpoint + "/decode?preserveStorageRefs=true", ui, "", 200},
		{"the UI's endpoint, encode", settings.Codec.Endpoint + "/encode", ui, "", 200},
		{"forged UI Origin, no secret", h.baseURL + "/codec/decode", ui, "", 401},
		{"forged UI Origin, namespace path", h.baseURL + "/codec/default/decode", ui, "", 401},
		{"wrong secret", h.baseURL + "/codec/s-" + strings.Repeat("0", 64) + "/decode", ui, "", 401},
		{"DNS rebinding Host", settings.Codec.Endpoint + "/decode", "http://rebind.example:8080", "rebind.example:8080", 421},
	} {
		if got := post(tt.url, tt.origin, tt.host); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	req, _ := http.NewRequest("GET", ui+"/api/v1/settings", nil)
	req.Host = "rebind.example:" + portOf(t, ui)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("UI settings under a rebinding Host: %d, want 421", resp.StatusCode)
		}
	}
	// A new start, a new secret (the data dir and the keys stay).
	s1 := h.sys.CodecSession
	h.sys.Close()
	h2 := startDevForTest(t, h.dir)
	defer h2.sys.Close()
	if h2.sys.CodecSession == s1 || h2.sys.CodecSession == "" {
		t.Errorf("the codec session secret did not change across starts")
	}
	if got := post(h2.baseURL+"/codec/"+s1+"/decode", "", ""); got != 401 {
		t.Errorf("the previous start's secret: %d, want 401", got)
	}
}
