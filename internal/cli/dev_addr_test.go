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
