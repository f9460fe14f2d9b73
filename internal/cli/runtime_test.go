package cli

import (
	"flag"
	"io"
	"strings"
	"testing"
)

// TestStickyCacheFlag checks --sticky-cache and RIPOSTE_STICKY_CACHE: the
// default, both ways of setting it, and a clear error for bad values.
func TestStickyCacheFlag(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		args      []string
		want      int
		err       string
	}{
		{name: "default", want: 1000},
		{name: "env", env: "500", want: 500},
		{name: "flag beats env", env: "500", args: []string{"--sticky-cache", "300"}, want: 300},
		{name: "env not a number", env: "lots", err: `RIPOSTE_STICKY_CACHE="lots": must be a whole number`},
		{name: "zero", args: []string{"--sticky-cache", "0"}, err: "--sticky-cache 0: must be at least 1"},
		{name: "negative env", env: "-3", err: "--sticky-cache -3: must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("RIPOSTE_STICKY_CACHE", tc.env)
			var f runtimeFlags
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f.register(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := f.check()
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want %q", err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.err == "" && f.StickyCache != tc.want:
				t.Fatalf("sticky cache %d, want %d", f.StickyCache, tc.want)
			}
		})
	}
}
