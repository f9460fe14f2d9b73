package config

import (
	"flag"
	"strings"
	"testing"
)

// TEMPORAL_TLS takes the usual boolean spellings (it used to count only
// "true": TEMPORAL_TLS=1 silently dialled without TLS) and refuses others.
func TestTemporalTLSEnv(t *testing.T) {
	for _, tc := range []struct {
		env  string
		tls  bool
		fail bool
	}{
		{"", false, false}, {"true", true, false}, {"1", true, false}, {"TRUE", true, false}, {"t", true, false},
		{"false", false, false}, {"0", false, false}, {"yes", false, true}, {"on", false, true},
	} {
		t.Setenv("TEMPORAL_TLS", tc.env)
		var tp Temporal
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		tp.RegisterFlags(fs)
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		err := tp.Validate()
		if tp.TLS != tc.tls || (err != nil) != tc.fail {
			t.Errorf("TEMPORAL_TLS=%q: TLS %v, Validate %v", tc.env, tp.TLS, err)
		}
		if tc.fail && !strings.Contains(err.Error(), `TEMPORAL_TLS="`+tc.env+`": not a boolean`) {
			t.Errorf("TEMPORAL_TLS=%q: %v", tc.env, err)
		}
	}
}
