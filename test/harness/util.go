package harness

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/internal/devserver"
	"github.com/riposte-dev/riposte/internal/lab"
)

// FreePort returns a loopback TCP port that is free now. The port is left in
// TIME_WAIT (see devserver.FreePorts), so a process started next that picks
// its own ports with bind(:0) is not offered it.
func FreePort(t testing.TB) int {
	t.Helper()
	ports, err := devserver.FreePorts("127.0.0.1", 1)
	if err != nil {
		t.Fatal(err)
	}
	return ports[0]
}

// FreeAddr returns a loopback host:port that is free now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", FreePort(t))
}

// RandomHex returns n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// WaitFor polls cond every 200ms until it is true or d has passed.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// BaseEnv is the environment of child processes: PATH, HOME and the temp
// dir only, so nothing of the caller's Riposte, Temporal or Slack settings
// leaks in.
func BaseEnv(extraPath ...string) []string {
	path := os.Getenv("PATH")
	if len(extraPath) > 0 {
		path = strings.Join(extraPath, string(os.PathListSeparator)) + string(os.PathListSeparator) + path
	}
	env := []string{"PATH=" + path}
	for _, k := range []string{"HOME", "TMPDIR", "LANG"} {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// lowPorts are the ports LowPort has handed out in this process.
var lowPorts = struct {
	sync.Mutex
	given map[int]bool
}{given: map[int]bool{}}

// LowPort returns a loopback port below 32768 that is free now: Temporal
// stores membership ports in a PostgreSQL smallint, and the kernel's
// ephemeral ports (what FreePort gets) are above it.
//
// A port is handed out once per process: ten picks for one server used to
// meet now and then (the server then failed to bind its second listener).
func LowPort(t testing.TB) int {
	t.Helper()
	lowPorts.Lock()
	defer lowPorts.Unlock()
	for i := 0; i < 1000; i++ {
		b := make([]byte, 2)
		_, _ = rand.Read(b)
		port := 20000 + int(b[0])<<8%12000 + int(b[1])
		if lowPorts.given[port] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			lowPorts.given[port] = true
			return port
		}
	}
	t.Fatal("no free port below 32768")
	return 0
}

// CleanEnv is this process's environment without anything that would
// configure Riposte, Temporal, OpenTelemetry or Slack.
func CleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "RIPOSTE_"), strings.HasPrefix(k, "TEMPORAL_"), strings.HasPrefix(k, "OTEL_"), strings.HasPrefix(k, "SLACK_"):
			continue
		}
		out = append(out, kv)
	}
	return out
}

// Keyring returns a fresh payload keyring in RIPOSTE_CODEC_KEYS's JSON
// form, its one key named id.
func Keyring(id string) string {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	b, _ := json.Marshal(map[string]any{"active": id, "keys": map[string]string{id: base64.StdEncoding.EncodeToString(key)}})
	return string(b)
}

// LabConnections returns riposte.yaml's connections pointing at the lab.
// Each secret becomes what ref makes of its name (connection_secret, safe
// for file and variable names) and value: a {file: …} or {env: …}
// reference whose target the caller writes.
func LabConnections(t testing.TB, l *lab.Lab, ref func(name, value string) map[string]string) []byte {
	t.Helper()
	conns := map[string]map[string]any{}
	safe := regexp.MustCompile(`[^A-Za-z0-9]+`)
	for name, conn := range l.Connections() {
		m := map[string]any{"type": conn.Type}
		if conn.BaseURL != "" { // AWS takes per-service endpoints instead
			m["base_url"] = conn.BaseURL
		}
		for k, v := range conn.Options {
			m[k] = v
		}
		for k, sec := range conn.Secrets {
			if sec.Lab == "" {
				t.Fatalf("lab connection %s: secret %s is not a literal", name, k)
			}
			m[k] = ref(safe.ReplaceAllString(name+"_"+k, "_"), sec.Lab)
		}
		conns[name] = m
	}
	b, err := yaml.Marshal(map[string]any{"connections": conns})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// SortedKeys returns m's keys in order.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// QuietLogger drops the Temporal SDK's logs.
type QuietLogger struct{}

func (QuietLogger) Debug(string, ...any) {}
func (QuietLogger) Info(string, ...any)  {}
func (QuietLogger) Warn(string, ...any)  {}
func (QuietLogger) Error(string, ...any) {}

// JSONLogLines returns the process's JSON log lines (RIPOSTE_LOG_FORMAT=json)
// whose msg equals msg.
func JSONLogLines(p *Process, msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.Output()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var m map[string]any
		if json.Unmarshal(line, &m) == nil && (msg == "" || m["msg"] == msg) {
			out = append(out, m)
		}
	}
	return out
}

// Require stops the test when a tool it needs is missing (err): a failure
// under CI (CI set, as .ci/run runs, which installs every such tool) or
// RIPOSTE_REQUIRE_TOOLS=1, a skip on a developer's machine without it.
func Require(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" || os.Getenv("RIPOSTE_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%v (required under CI: .ci/run installs it)", err)
	}
	t.Skip(err)
}
