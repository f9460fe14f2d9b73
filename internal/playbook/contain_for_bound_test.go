package playbook_test

import (
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// contain_for is a time box: a hold of years is no box at all. The
// longest contain_for a playbook may set is MaxContainFor (365d), the same
// bound as one extension (riposte extend): a longer one is refused,
// naming the limit. A version an earlier release stored keeps its hold.
func TestContainForLongerThanTheMaximumIsRefused(t *testing.T) {
	src := func(d string) []byte {
		return []byte(`apiVersion: riposte/v1
name: long-hold
version: 1
trigger: {when: 'true'}
steps:
  - id: block
    action: panos.block_ip
    with: {ip: 203.0.113.7}
    approval: auto
    contain_for: ` + d + "\n")
	}
	for _, d := range []string{"366d", "8761h", "2562047h"} {
		_, diags := playbook.LoadBytes("long-hold.yaml", src(d), activities.Catalog())
		found := false
		for _, dg := range diags {
			if strings.Contains(dg.Message, "contain_for") && strings.Contains(dg.Message, "365d") && !dg.IsWarning() {
				found = true
			}
		}
		if !found {
			t.Errorf("contain_for: %s accepted, or refused without naming the 365d maximum (diagnostics %v)", d, diags)
		}
		if _, diags := playbook.LoadStored("long-hold.yaml", src(d), activities.Catalog()); len(diags) > 0 {
			t.Errorf("stored version with contain_for %s refused: %v", d, diags)
		}
	}
	for _, d := range []string{"365d", "8760h", "90d", "4h"} {
		if _, diags := playbook.LoadBytes("long-hold.yaml", src(d), activities.Catalog()); len(diags) > 0 {
			t.Errorf("contain_for: %s refused: %v", d, diags)
		}
	}
	if playbook.MaxContainFor.D() != 365*24*time.Hour {
		t.Errorf("MaxContainFor = %s, the docs say 365d", playbook.MaxContainFor)
	}
}

// ParseExtension reads the duration of an extension (riposte extend, POST
// /v1/runs/{id}/extend) and says what is wrong with a bad one: negative,
// zero, too large (also past what a Go duration holds), not a duration.
func TestParseExtensionSaysWhatIsWrong(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"-4h", "negative"},
		{"-2d", "negative"},
		{"0s", "zero"},
		{"0d", "zero"},
		{"366d", "longer than 365d"},
		{"2562047h", "longer than 365d"},
		{"3000000h", "longer than 365d"},
		{"99999999999999999999d", "longer than 365d"},
		{"forever", "not a duration"},
		{"4x", "not a duration"},
		{"", "not a duration"},
	} {
		_, err := playbook.ParseExtension(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseExtension(%q) = %v, want an error saying %q", tc.in, err, tc.want)
		}
	}
	for in, want := range map[string]time.Duration{"365d": 365 * 24 * time.Hour, "720h": 720 * time.Hour, "4h": 4 * time.Hour, "90s": 90 * time.Second} {
		if got, err := playbook.ParseExtension(in); err != nil || got.D() != want {
			t.Errorf("ParseExtension(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

// A bare 0 is zero, not "not a duration": riposte extend RUN STEP 0 (and
// POST /v1/runs/{id}/extend with "by": "0") said `"0" is not a duration`,
// and contain_for: 0 `duration "0" must be positive` without the range.
// Each says it is zero and what is allowed (positive, at most 365d), at
// the value's position.
func TestZeroHoldSaysZeroAndTheRange(t *testing.T) {
	for _, in := range []string{"0", "-0", "00", "0s", "0d"} {
		want := `"` + in + `" is zero: give a positive duration such as 4h (at most 365d)`
		if _, err := playbook.ParseExtension(in); err == nil || err.Error() != want {
			t.Errorf("ParseExtension(%q) = %v, want %s", in, err, want)
		}
	}
	for _, d := range []string{"0", "'0'", "0s", "0d"} {
		src := "apiVersion: riposte/v1\n" +
			"name: zero-hold\n" +
			"version: 1\n" +
			"trigger: {when: 'true'}\n" +
			"steps:\n" +
			"  - id: block\n" +
			"    action: panos.block_ip\n" +
			"    with: {ip: 203.0.113.7}\n" +
			"    approval: auto\n" +
			"    contain_for: " + d + "\n"
		_, diags := playbook.LoadBytes("zero-hold.yaml", []byte(src), activities.Catalog())
		var got []string
		for _, dg := range diags {
			got = append(got, dg.String())
		}
		want := `zero-hold.yaml:10:18: steps[0].contain_for: "` + strings.Trim(d, "'") + `" is zero: give a positive duration such as 4h (at most 365d)`
		if strings.Join(got, "\n") != want {
			t.Errorf("contain_for: %s:\n%s\nwant\n%s", d, strings.Join(got, "\n"), want)
		}
	}
}
