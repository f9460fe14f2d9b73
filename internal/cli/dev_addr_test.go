package cli

import (
	"strings"
	"testing"
)

// riposte dev refuses to listen anywhere but loopback.
func TestDevLoopbackAddr(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{"8080", "127.0.0.1:8080", ""},
		{":9090", "127.0.0.1:9090", ""},
		{"0", "127.0.0.1:0", ""},
		{"127.0.0.1:8080", "127.0.0.1:8080", ""},
		{"[::1]:8080", "[::1]:8080", ""},
		{"localhost:8080", "localhost:8080", ""},
		{"0.0.0.0:8080", "", "loopback only"},
		{"[::]:8080", "", "loopback only"},
		{"192.0.2.7:8080", "", "loopback only"},
		{"example.com:8080", "", "loopback only"},
		{"nope", "", "not host:port"},
	} {
		got, err := devLoopbackAddr("--http", tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// The defaults of riposte dev are the ones README's command table gives
// (and the Slack fake is on unless --slack-fake=false).
func TestDevDefaults(t *testing.T) {
	for _, env := range []string{"RIPOSTE_DATA_DIR", "RIPOSTE_PLAYBOOKS", "RIPOSTE_HTTP", "RIPOSTE_RATE_LIMIT", "RIPOSTE_RATE_BURST"} {
		t.Setenv(env, "")
	}
	_, out, errOut := runCLI(t, "dev", "--help")
	usage := out + errOut
	defaults := map[string]string{}
	lines := strings.Split(usage, "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 || !strings.HasPrefix(f[0], "-") || i+1 == len(lines) {
			continue
		}
		if _, v, ok := strings.Cut(lines[i+1], "(default "); ok {
			defaults[strings.TrimPrefix(f[0], "-")] = strings.TrimSuffix(strings.TrimSpace(v), ")")
		}
	}
	for flag, want := range map[string]string{
		"slack-fake": "true", "temporal-port": "7233", "ui-port": "8233", "temporal-http-port": "-1",
		"http": `"8080"`, "max-body": "1048576", "rate-limit": "100", "rate-burst": "200",
		"data-dir": `".riposte"`, "playbooks": `"playbooks"`,
	} {
		if got := defaults[flag]; got != want {
			t.Errorf("--%s defaults to %s, want %s", flag, got, want)
		}
	}
}
