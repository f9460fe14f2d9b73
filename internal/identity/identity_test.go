package identity

import (
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNormalizeEqual(t *testing.T) {
	cases := []struct {
		a, b string
		eq   bool
	}{
		{"U0ATTACKER", "U0ATTACKER", true},
		{"U0ATTACKER", "U0ATTACKER\u200b", true},       // zero-width space (issue 12, attack 3)
		{"U0ATTACKER", "\ufeffU0ATT\u200dACKER", true}, // BOM, zero-width joiner
		{"U0ATTACKER", "u0attacker", true},             // case
		{"U0ATTACKER", "Ｕ０ＡＴＴＡＣＫＥＲ", true},             // full-width (NFKC)
		{"U0ATTACKER", " U0ATTACKER\t\n", true},        // whitespace
		{"U0ATTACKER", "U0\u00a0ATTACKER", true},       // no-break space
		{"U0ATTACKER", "U0ATTACKE\u0301R", true},       // combining mark
		{"U0ATTACKER", "U0ATTACKER\u2060", true},       // word joiner
		{"U0ATTACKER", "U0ATTACKER\u202e", true},       // bidi override
		{"straße", "STRASSE", true},                    // full case folding
		{"U0\xf0Ѐ", "U0\ufffdЕ", true},                 // a broken byte before a final letter with a mark (FuzzNormalize)
		{"U0ꮇ", "U0Ꮇ", true},                           // Cherokee small and capital letter (FuzzNormalize)
		{"U0ꮇ", "U0Ꮈ", false},
		{"U0ATTACKER", "U0ATTACKER2", false},
		{"U0ATTACKER", "U0ATTACKEЯ", false},
		{"", "", false},
		{"\u200b", "", false},
	}
	for _, c := range cases {
		if got := Equal(c.a, c.b); got != c.eq {
			t.Errorf("Equal(%q, %q) = %v, want %v (normalized %q, %q)", c.a, c.b, got, c.eq, Normalize(c.a), Normalize(c.b))
		}
	}
	if !Contains([]string{"UX", "U0INFRA001"}, "u0infra001\u200b") || Contains([]string{"UX"}, "\u200b") {
		t.Fatal("Contains does not normalize")
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"U0ATTACKER\u200b", "Ｕ０", "straße", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if Normalize(n) != n {
			t.Fatalf("Normalize is not idempotent on %q: %q then %q", s, n, Normalize(n))
		}
	})
}

// TestNormalizeEveryRune checks, for every Unicode scalar value, what
// FuzzNormalize checks at random: Normalize is idempotent, alone and next
// to other characters. A golang.org/x/text upgrade that breaks it fails
// here.
func TestNormalizeEveryRune(t *testing.T) {
	bad := 0
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		for _, s := range []string{string(r), "U0" + string(r) + string(r) + "a"} {
			if n := Normalize(s); Normalize(n) != n {
				if bad++; bad <= 10 {
					t.Errorf("%U: Normalize(%q) = %q, then %q", r, s, n, Normalize(n))
				}
			}
		}
	}
}

// TestNormalizeCaseless checks that every letter's capital and small form
// name the same identity. The one exception is Unicode's own: dotless ı
// does not fold to i (it is a different letter in Turkish).
func TestNormalizeCaseless(t *testing.T) {
	for r := rune(0); r <= utf8.MaxRune; r++ {
		u, l := unicode.ToUpper(r), unicode.ToLower(r)
		if u == l || r == 'ı' {
			continue
		}
		if !Equal("U0"+string(u), "U0"+string(l)) {
			t.Errorf("%U: %q and %q are different identities (%q, %q)", r, string(u), string(l), Normalize("U0"+string(u)), Normalize("U0"+string(l)))
		}
	}
}
