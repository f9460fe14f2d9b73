package activities

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// Slack's 40,000-character limit on a message's text applies to the text
// Slack receives, after &, < and > are escaped (&amp; &lt; &gt;: one
// character becomes four or five). Text under the limit before escaping
// (detection text full of <, > and &, an HTML or XML snippet, a command
// line with redirections) can be far over it after: Slack refuses the post
// (msg_too_long) or cuts it. slack.post_message counts after escaping and
// clips what does not fit, never inside an escape entity or a character,
// and says in the message that it was clipped.
func TestSlackPostMessageLimitCountedAfterEscaping(t *testing.T) {
	for name, text := range map[string]string{
		"angle brackets":       strings.Repeat("<", 20000),
		"ampersands":           strings.Repeat("&", 39999),
		"html":                 strings.Repeat("<b>x</b> & ", 3500),
		"emoji and brackets":   strings.Repeat("😀<", 15000),
		"within limit escaped": strings.Repeat("a<", 13000),
		"just over, plain":     strings.Repeat("x", 40001),
		"exactly the limit":    strings.Repeat("x", 40000),
	} {
		t.Run(name, func(t *testing.T) {
			act, fake, _ := slackTestEnv(t, true)
			v, err := act.ExecuteActivity("slack.post_message", Call{Action: "slack.post_message", StepID: "notify",
				Params: map[string]any{"channel": "C0SOC0001", "text": text}})
			if err != nil {
				t.Fatalf("post refused: %v", err)
			}
			var out map[string]any
			_ = v.Get(&out)
			msgs := fake.Messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages", len(msgs))
			}
			sent := msgs[0].Params["text"]
			if !utf8.ValidString(sent) {
				t.Fatal("the posted text is not valid UTF-8")
			}
			if n := len(utf16.Encode([]rune(sent))); n > 40000 {
				t.Fatalf("Slack received %d characters of escaped text, more than its 40,000", n)
			}
			// No entity cut: every & starts &amp; &lt; or &gt;.
			if bad := regexp.MustCompile(`&(?:amp;|lt;|gt;)?`).FindAllString(sent, -1); len(bad) > 0 {
				for _, b := range bad {
					if b == "&" {
						t.Fatalf("the posted text holds a cut escape entity: …%q", sent[max(0, len(sent)-40):])
					}
				}
			}
			escapedLen := len(utf16.Encode([]rune(strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(text))))
			clipped := escapedLen > 40000
			if clipped != strings.Contains(sent, "clipped") {
				t.Errorf("escaped length %d: the message says it was clipped: %v", escapedLen, strings.Contains(sent, "clipped"))
			}
			if c, _ := out["clipped"].(float64); (c > 0) != clipped {
				t.Errorf("output clipped = %v, want > 0: %v", out["clipped"], clipped)
			}
			if !clipped && sent != strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(text) {
				t.Error("a text within the limit was changed")
			}
		})
	}
}
