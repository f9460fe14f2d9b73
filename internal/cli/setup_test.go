package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/engine"
)

// riposte setup checks its flags before waiting for Temporal: a usage
// error exits 2 at once (nothing listens on 127.0.0.1:1; --wait would
// make a dial attempt take minutes).
func TestSetupValidatesFlagsFirst(t *testing.T) {
	t.Setenv("TEMPORAL_TLS", "")
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--retention", "1h"}, "", "--retention 1h: retention 1h0m0s is below Temporal's minimum of 24h0m0s"},
		{[]string{"--retention", "soon"}, "", `--retention "soon": not a Go duration`},
		{nil, "yes", `TEMPORAL_TLS="yes": not a boolean`},
	} {
		t.Setenv("TEMPORAL_TLS", tc.env)
		var out, errb bytes.Buffer
		args := append([]string{"setup", "--temporal-address", "127.0.0.1:1", "--wait", "10m"}, tc.args...)
		code := Main(context.Background(), args, Streams{Out: &out, Err: &errb})
		if code != 2 || !strings.Contains(errb.String(), tc.want) || strings.Contains(out.String(), "Waiting") {
			t.Errorf("%v TEMPORAL_TLS=%q: exit %d\n%s%s", tc.args, tc.env, code, out.String(), errb.String())
		}
	}
}

// Only an explicit --retention may shorten an existing namespace's
// retention (README, Production: shortening deletes older closed runs, the
// audit trail); the default and the environment only lengthen it.
func TestSetupShortensOnlyWhenTold(t *testing.T) {
	t.Setenv("TEMPORAL_TLS", "")
	for _, tc := range []struct {
		args    []string
		env     string
		want    time.Duration
		shorten bool
	}{
		{nil, "", 168 * time.Hour, false},
		{nil, "720h", 720 * time.Hour, false},
		{[]string{"--retention", "72h"}, "", 72 * time.Hour, true},
		{[]string{"--retention", "168h"}, "720h", 168 * time.Hour, true},
	} {
		t.Setenv("NAMESPACE_RETENTION", tc.env)
		t.Setenv("RIPOSTE_RETENTION", "")
		var errb bytes.Buffer
		o, code, ok := parseSetup(append([]string{"--temporal-address", "127.0.0.1:1"}, tc.args...), Streams{Out: &errb, Err: &errb})
		if !ok || o.Retention != tc.want || o.Shorten != tc.shorten {
			t.Errorf("%v NAMESPACE_RETENTION=%q: retention %v shorten %v (exit %d %s); want %v, %v", tc.args, tc.env, o.Retention, o.Shorten, code, errb.String(), tc.want, tc.shorten)
		}
	}
}

// On Temporal Cloud, whose API refuses namespace administration, setup
// prints the tcld commands and exits 3 (README, Production; docs/
// operations.md, First install), whatever wraps the refusal.
func TestSetupRefusedByTheServerExits3(t *testing.T) {
	var errb bytes.Buffer
	err := setupExit(fmt.Errorf("%w: creating namespace riposte: permission denied", engine.ErrRefused))
	if code := fail(Streams{Out: &errb, Err: &errb}, err); code != 3 {
		t.Errorf("a setup the server refused exits %d, want 3", code)
	}
	if code := fail(Streams{Out: &errb, Err: &errb}, setupExit(errors.New("connection refused"))); code == 3 || code == 0 {
		t.Errorf("another failure exits %d", code)
	}
}
