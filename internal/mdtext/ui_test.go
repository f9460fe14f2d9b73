package mdtext

import (
	"html"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/mdtext/uirender"
)

// uiRender renders md with the Temporal UI's own renderer and returns the
// HTML inside its <main>.
func uiRender(t *testing.T, md string) string {
	t.Helper()
	inner, err := uirender.HTML(md)
	if err != nil {
		t.Fatal(err)
	}
	return inner
}

var tag = uirender.Tag

// Ordinary punctuation reads as written in the Temporal UI: its renderer
// shows a backslash before any character it takes no escape of.
func TestTextReadsLiterallyInTheTemporalUI(t *testing.T) {
	for _, in := range []string{
		"Credential dump by alice@corp.example; see /tmp/x.bin, 50% sure? lsass=dumped",
		"EDR/AI (owner soc@example.com): 3 hosts, 2 users",
	} {
		inner := uiRender(t, Text(in, 1000))
		got := strings.Join(strings.Fields(html.UnescapeString(tag.ReplaceAllString(inner, ""))), " ")
		if got != in {
			t.Errorf("the Temporal UI shows %q as %q", in, got)
		}
	}
}

// No hostile title becomes markup in the Temporal UI's renderer either: one
// paragraph of text, no link, image, emphasis, code, heading or list.
func TestTextRendersLiterallyInTheTemporalUI(t *testing.T) {
	for _, c := range Hostile {
		t.Run(c.name, func(t *testing.T) {
			inner := uiRender(t, Text(c.in, 1000))
			for _, m := range tag.FindAllString(inner, -1) {
				if m != "<p>" && m != "</p>" {
					t.Fatalf("Text(%q) renders as markup in the Temporal UI: %s", c.in, inner)
				}
			}
			if strings.Contains(html.UnescapeString(tag.ReplaceAllString(inner, "")), `\`) && !strings.Contains(c.in, `\`) {
				t.Errorf("Text(%q) shows a backslash in the Temporal UI: %s", c.in, inner)
			}
		})
	}
}

// Text placed inside Riposte's own markup (the current details write an
// outcome as **…**) leaves that markup whole in the Temporal UI: text
// ending with a backslash made its renderer take the closing ** as
// escaped, and the line read "*… end\*" in italics.
func TestTextInsideMarkupInTheTemporalUI(t *testing.T) {
	for _, in := range []string{`C:\Windows\Temp\`, `ends with a backslash\`, `two\\`} {
		inner := uiRender(t, "**"+Text(in, 1000)+"**")
		if got := strings.Join(tag.FindAllString(inner, -1), ""); got != "<p><strong></strong></p>" {
			t.Errorf("**Text(%q)** renders as %s in the Temporal UI, want one <strong>", in, inner)
		}
		if got := html.UnescapeString(tag.ReplaceAllString(inner, "")); strings.TrimSpace(got) != in {
			t.Errorf("**Text(%q)** reads %q in the Temporal UI", in, got)
		}
	}
}
