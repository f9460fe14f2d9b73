package panos

import (
	"encoding/xml"
	"maps"
	"slices"
	"strings"
	"testing"
)

// uidUnchanged on per-entry answers in the documented shape
// (testdata/uid-register-already-exists.xml): each entry decides for its
// address and tag only.
func TestUIDUnchanged(t *testing.T) {
	answer := func(op string, entries ...string) *panosResponse {
		t.Helper()
		body := `<response status="error"><msg><line><uid-response><version>2.0</version><payload><` + op + `>` +
			strings.Join(entries, "") + `</` + op + `></payload></uid-response></line></msg></response>`
		var pr panosResponse
		if err := xml.Unmarshal([]byte(body), &pr); err != nil {
			t.Fatal(err)
		}
		return &pr
	}
	entry := func(ip, msg string) string { return `<entry ip="` + ip + `" message="` + msg + `"/>` }
	tags := []string{"riposte-blocked", "riposte.riposte-blocked"}
	for _, c := range []struct {
		name     string
		pr       *panosResponse
		register bool
		want     []string // unchanged tags
		problem  string   // part of the problem, "" for none
		explains bool     // the entries explain the error
	}{
		{"owner tag alone there", answer("register", entry("203.0.113.77", "tag riposte.riposte-blocked already exists, ignore")), true, []string{"riposte.riposte-blocked"}, "", true},
		{"block tag alone there", answer("register", entry("203.0.113.77", "tag riposte-blocked already exists, ignore")), true, []string{"riposte-blocked"}, "", true},
		{"both there", answer("register", entry("203.0.113.77", "tag riposte-blocked already exists, ignore"), entry("203.0.113.77", "tag riposte.riposte-blocked already exists, ignore")), true, tags, "", true},
		{"another address", answer("register", entry("203.0.113.78", "tag riposte-blocked already exists, ignore")), true, nil, "", false},
		{"IPv6 written otherwise", answer("register", entry("2001:DB8:0::1", "tag riposte-blocked already exists, ignore")), true, nil, "", true},
		{"one unnamed of two", answer("register", entry("203.0.113.77", "already exists, ignore")), true, nil, "cannot tell which", true},
		{"two unnamed of two", answer("register", entry("203.0.113.77", "already exists, ignore"), entry("203.0.113.77", "already exists, ignore")), true, tags, "", true},
		{"another error", answer("register", entry("203.0.113.77", "Failed to register ip 203.0.113.77")), true, nil, "register of 203.0.113.77 refused", true},
		{"unregister, one unnamed of two", answer("unregister", entry("203.0.113.77", "ip 203.0.113.77 does not exist, ignore unreg")), false, []string{}, "", true},
		{"unregister, two unnamed of two", answer("unregister", entry("203.0.113.77", "ip 203.0.113.77 does not exist, ignore unreg"), entry("203.0.113.77", "ip 203.0.113.77 does not exist, ignore unreg")), false, tags, "", true},
		{"register answered as unregister", answer("unregister", entry("203.0.113.77", "tag riposte-blocked already exists, ignore")), true, nil, "", false},
	} {
		ip := "203.0.113.77"
		if strings.Contains(c.name, "IPv6") {
			ip = "2001:db8::1"
			c.want = []string{"riposte-blocked"}
		}
		got, explains, problem := uidUnchanged(c.pr, ip, tags, c.register)
		if c.problem != "" || problem != "" {
			if c.problem == "" || !strings.Contains(problem, c.problem) {
				t.Errorf("%s: problem %q, want %q", c.name, problem, c.problem)
			}
			continue
		}
		if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, slices.Sorted(slices.Values(c.want))) || explains != c.explains {
			t.Errorf("%s: unchanged %v (explains %v), want %v (%v)", c.name, keys, explains, c.want, c.explains)
		}
	}
}
