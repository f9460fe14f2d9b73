package mdtext

import (
	"bytes"
	"html"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// gfm renders like GitHub (and the Temporal UI's renderer): CommonMark with
// tables, strikethrough, task lists and autolink literals (Linkify).
var gfm = goldmark.New(goldmark.WithExtensions(extension.GFM))

// Render returns the HTML a GFM renderer makes of md.
func render(t *testing.T, md string) string {
	t.Helper()
	var b bytes.Buffer
	if err := gfm.Convert([]byte(md), &b); err != nil {
		t.Fatalf("rendering %q: %v", md, err)
	}
	return b.String()
}

// Hostile detection titles: each one is markup in Markdown, GFM or HTML.
var Hostile = []struct{ name, in, want string }{
	{"link", "[click here](http://evil.example/login)", "[click here](http://evil.example/login)"},
	{"image", "![x](http://evil)", "![x](http://evil)"},
	{"reference link", "[x][1] [1]: http://evil", "[x][1] [1]: http://evil"},
	{"autolink", "<http://evil.example>", "<http://evil.example>"},
	{"bare URL", "see https://evil.example/x?a=1&b=2 now", "see https://evil.example/x?a=1&b=2 now"},
	{"www", "www.evil.example", "www.evil.example"},
	{"email", "mail ceo@evil.example", "mail ceo@evil.example"},
	{"html tag", `<img src=x onerror="alert(1)">`, `<img src=x onerror="alert(1)">`},
	{"script", "<script>alert(1)</script>", "<script>alert(1)</script>"},
	{"slack broadcast", "<!channel> <@U0BADBAD1>", "<!channel> <@U0BADBAD1>"},
	{"emphasis", "*bold* _em_ **strong** ~~gone~~ ~x~", "*bold* _em_ **strong** ~~gone~~ ~x~"},
	{"code", "run `rm -rf /` ``x``", "run `rm -rf /` ``x``"},
	{"entities", "&lt;b&gt; &amp; &#x3C;script&#62; &copy;", "&lt;b&gt; &amp; &#x3C;script&#62; &copy;"},
	{"heading after newline", "Title\n# Owned\n## Also", "Title # Owned ## Also"},
	{"heading first", "# Owned", "# Owned"},
	{"list and quote", "x\n- item\n> quote\n1. one\n---\n***", "x - item > quote 1. one --- ***"},
	{"ordered list first", "1. first", "1. first"},
	{"setext", "Title\n===", "Title ==="},
	{"table", "| a | b |\n|---|---|\n| 1 | 2 |", "| a | b | |---|---| | 1 | 2 |"},
	{"task", "- [x] done", "- [x] done"},
	{"hard break and backslash", "a  \nb\\", "a b\\"},
	{"control and invisible", "a\x00\x1b[31mb\u202Ec\u200Bd\te", "a[31mbcd e"},
	{"fence", "```\ncode\n```", "``` code ```"},
	// The Temporal UI's renderer turns digits/digits into a fraction
	// (<sup>3</sup>&frasl;<sub>4</sub>).
	{"fraction", "3/4 hosts (2/3), 10.0.0.0/24 on 12/06", "3/4 hosts (2/3), 10.0.0.0/24 on 12/06"},
}

func TestTextRendersLiterally(t *testing.T) {
	for _, c := range Hostile {
		t.Run(c.name, func(t *testing.T) {
			md := Text(c.in, 1000)
			if strings.ContainsAny(md, "\n\r") {
				t.Errorf("Text(%q) = %q spans lines", c.in, md)
			}
			out := render(t, md)
			inner, ok := strings.CutPrefix(strings.TrimSuffix(out, "\n"), "<p>")
			inner, ok2 := strings.CutSuffix(inner, "</p>")
			if !ok || !ok2 || strings.Contains(inner, "<") {
				t.Fatalf("Text(%q) = %q renders as markup: %s", c.in, md, out)
			}
			if got := html.UnescapeString(inner); got != c.want {
				t.Errorf("Text(%q) = %q renders as %q, want the literal text %q", c.in, md, got, c.want)
			}
		})
	}
}

func TestTextLimit(t *testing.T) {
	if got := Text("abcdef", 3); got != "abc…" {
		t.Errorf("Text limit 3 = %q", got)
	}
	if got := Text("ab", 3); got != "ab" {
		t.Errorf("Text short = %q", got)
	}
	// The limit counts the text's runes, not the escapes.
	if got := Text("*****", 2); got != `\*\*…` {
		t.Errorf("Text escapes count = %q", got)
	}
	if got := Text("  \n ", 10); got != "" {
		t.Errorf("Text of blanks = %q", got)
	}
	if got := Text("\xff", 10); got != "\uFFFD" {
		t.Errorf("Text of invalid UTF-8 = %q", got)
	}
}

func FuzzText(f *testing.F) {
	for _, c := range Hostile {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		md := Text(s, 200)
		out := render(t, md)
		if md == "" {
			return
		}
		inner, _ := strings.CutPrefix(strings.TrimSuffix(out, "\n"), "<p>")
		inner, _ = strings.CutSuffix(inner, "</p>")
		if strings.Contains(inner, "<") {
			t.Fatalf("Text(%q) = %q renders as markup: %s", s, md, out)
		}
	})
}

// Clip cuts at a character boundary within the byte limit.
func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"héllo", 2, "h"},
		{"abc", 5, "abc"},
		{"abc", 3, "abc"},
		{strings.Repeat("é", 200), 255, strings.Repeat("é", 127)},
		{"€", 2, ""},
	} {
		if got := Clip(tc.in, tc.n); got != tc.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
