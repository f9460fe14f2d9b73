package yamlx

import (
	"fmt"
	"strings"
)

// maxSuggestRunes bounds the words DidYouMean compares: the distance is
// quadratic, and nobody mistypes a key of 256 characters.
const maxSuggestRunes = 256

// DidYouMean returns ` (did you mean "x"?)` for the candidate closest to
// got (case-insensitively), or "" when none is close enough or got is
// already one of them.
func DidYouMean(got string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if c == got {
			return ""
		}
		if d := EditDistance(strings.ToLower(got), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len([]rune(got))/3) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// EditDistance is how far apart two words are, in runes: insertions,
// deletions, substitutions and swaps of two adjacent letters each count
// one (optimal string alignment), so "nmae" is as close to "name" as
// "nane". Words longer than maxSuggestRunes are "far" from everything.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > maxSuggestRunes || len(rb) > maxSuggestRunes {
		return 1 << 20
	}
	// Three rows: the one before the previous serves the swaps.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
