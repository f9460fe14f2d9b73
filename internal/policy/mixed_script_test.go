package policy

import (
	"strings"
	"testing"
)

// A protected host, user or tag pattern holding a look-alike letter of
// another script (a Cyrillic с pasted into "dc-*") loads, since non-ASCII
// names are legitimate, but never matches the name as the directory
// spells it: the protection is off and nobody is told. Such a pattern,
// one mixing Latin, Cyrillic and Greek letters (the usual confusable
// rule), gets a warning naming the pattern, the character, its code point
// and its column; a pattern in one script (Cyrillic, or Japanese beside
// Latin) gets none, and the pattern is kept as written.
func TestProtectedPatternMixingScriptsWarns(t *testing.T) {
	src := "protected:\n" +
		"  hosts: [\"d\u0441-*\", srv-*, \u0441\u0435\u0440\u0432\u0435\u0440-*, \u6771\u4eac-dc*]\n" + // dс-* (Cyrillic с), сервер-*, 東京-dc*
		"  users:\n" +
		"    - \u0430dmin@corp.example\n" + // Cyrillic а
		"    - 'r\u03bfot'\n" + // Greek ο
		"    - &a \u0441\u0435p\u0432\u0435\u0440\n" + // Latin p among Cyrillic, after an anchor
		"  tags: [crown-jewel, \"\\u0441rown-jewel\"]\n" // an escape: no column
	p, err := Parse("policy.yaml", []byte(src))
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	want := []string{
		`policy.yaml:2:11: warning: protected.hosts[0]: "dс-*" mixes Latin and Cyrillic letters: "с" (U+0441) at column 13 is Cyrillic; a name spelt with the Latin letter it looks like does not match, so it is not protected`,
		`policy.yaml:4:7: warning: protected.users[0]: "аdmin@corp.example" mixes Latin and Cyrillic letters: "а" (U+0430) at column 7 is Cyrillic; a name spelt with the Latin letter it looks like does not match, so it is not protected`,
		`policy.yaml:5:7: warning: protected.users[1]: "rοot" mixes Latin and Greek letters: "ο" (U+03BF) at column 9 is Greek; a name spelt with the Latin letter it looks like does not match, so it is not protected`,
		`policy.yaml:6:7: warning: protected.users[2]: "сеpвер" mixes Cyrillic and Latin letters: "p" (U+0070), character 3, is Latin; a name spelt with the Cyrillic letter it looks like does not match, so it is not protected`,
		`policy.yaml:7:23: warning: protected.tags[1]: "сrown-jewel" mixes Latin and Cyrillic letters: "с" (U+0441), character 1, is Cyrillic; a name spelt with the Latin letter it looks like does not match, so it is not protected`,
	}
	var got []string
	for _, d := range p.Warnings {
		got = append(got, d.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(p.Protected.Hosts) != 4 || p.Protected.Hosts[0] != "d\u0441-*" || len(p.Protected.Users) != 3 {
		t.Errorf("patterns not kept as written: %+v", p.Protected)
	}
}
