package yamlx

import (
	"fmt"
	"strings"
)

// BillionLaughs returns `key:` holding the classic alias bomb (nine levels
// of nine aliases: about 387 million values once expanded, from less than
// a kilobyte), indented by indent spaces. Every decoder's tests feed it to
// check the alias budget holds.
func BillionLaughs(key string, indent int) string {
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s:\n", pad, key)
	fmt.Fprintf(&b, "%s  - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n", pad)
	for i := 1; i < 9; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 9), ", ")
		fmt.Fprintf(&b, "%s  - &l%d [%s]\n", pad, i, refs)
	}
	return b.String()
}
