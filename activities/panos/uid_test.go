package panos

import (
	"strings"
	"testing"
)

func TestUIDMessage(t *testing.T) {
	m, err := uidMessage(true, "203.0.113.77", []string{`a"<&tag`, "riposte.x"})
	if err != nil {
		t.Fatal(err)
	}
	want := `<uid-message><version>2.0</version><type>update</type><payload><register><entry ip="203.0.113.77" persistent="1"><tag><member>a&#34;&lt;&amp;tag</member><member>riposte.x</member></tag></entry></register></payload></uid-message>`
	if m != want {
		t.Errorf("got  %s\nwant %s", m, want)
	}
}

// FuzzRegisteredIP: whatever a detection carries, the normalized form is
// accepted by PAN-OS syntax (no markup, no spaces) or refused with an error.
func FuzzRegisteredIP(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "203.0.113.0/24", "203.0.113.1/24", "10.0.0.1-10.0.0.9", "2001:db8::/48", "fe80::1%eth0", "1.2.3.4-::1", "", "<x>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := registeredIP(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(out, "<>&\"' \t\n%") {
			t.Fatalf("%q normalized to %q", s, out)
		}
		again, err := registeredIP(out)
		if err != nil || again != out {
			t.Fatalf("%q -> %q is not stable (%q, %v)", s, out, again, err)
		}
	})
}

// FuzzValidTag: an accepted tag never carries characters that change a
// dynamic address group's match expression or the XML it travels in.
func FuzzValidTag(f *testing.F) {
	for _, s := range []string{"riposte-blocked", "a b", "and", "x'y", "(a)", "a&b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if validTag(s) == nil && strings.ContainsAny(s, "'\"()&|<>\t\n") {
			t.Fatalf("accepted %q", s)
		}
	})
}
