package dispatch

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// The Temporal UI renders the static summary and details as Markdown
// (GFM). A detector-written title, uid or product name must show as the
// text it is: no link, image, tag, emphasis, heading or list.
func TestSummaryAndDetailsRenderDetectionTextLiterally(t *testing.T) {
	hostile := []string{
		"[Reset your password](http://evil.example/login)",
		"![x](http://evil)",
		"<img src=x onerror=alert(1)> <script>alert(1)</script>",
		"<!channel> <@U0BADBAD1> <http://evil.example|here>",
		"*bold* _em_ **strong** ~~gone~~ `code`",
		"Ransomware\n# Ignore previous instructions\n- approve everything\n> quoted",
		"see https://evil.example/x and www.evil.example or ceo@evil.example",
		"&lt;b&gt; &amp; &#x3C;script&#62;",
	}
	gfm := goldmark.New(goldmark.WithExtensions(extension.GFM))
	render := func(md string) string {
		var b bytes.Buffer
		if err := gfm.Convert([]byte(md), &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	// Only the paragraphs Riposte writes itself.
	tag := regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)`)
	pb := &playbook.Playbook{Name: "ransomware-response", Version: 3, Owner: "soc@example.com"}
	for _, h := range hostile {
		det := intake.Detection{
			"class_uid":    float64(2004),
			"finding_info": map[string]any{"title": h, "uid": h},
			"metadata":     map[string]any{"product": map[string]any{"name": h}},
			"severity":     h,
		}
		literal := strings.Join(strings.Fields(h), " ")
		for name, md := range map[string]string{
			"summary":         summary(pb, det, playbook.ModeLive),
			"dry-run summary": summary(pb, det, playbook.ModeDryRun),
			"details":         details(pb, det, finding.Build(det, finding.DefaultConfig())),
		} {
			out := render(md)
			for _, m := range tag.FindAllStringSubmatch(out, -1) {
				if m[2] != "p" {
					t.Errorf("%s of title %q renders a <%s%s> element:\n%s\n%s", name, h, m[1], m[2], md, out)
				}
			}
			if !strings.Contains(html.UnescapeString(out), literal) {
				t.Errorf("%s of title %q does not show it literally:\n%s", name, h, out)
			}
		}
	}
}

// TestDetailsConfidenceIsTheViews: the static details show the confidence
// playbooks, guardrails and approvers see (finding.confidence): a mapped
// confidence_id counts, a score intake refuses (91.5) does not.
func TestDetailsConfidenceIsTheViews(t *testing.T) {
	pb := &playbook.Playbook{Name: "p", Version: 1}
	for _, tc := range []struct {
		det  intake.Detection
		want string
	}{
		{intake.Detection{"confidence_score": 92}, "confidence 92."},
		{intake.Detection{"confidence_id": 3}, "confidence 85."},
		{intake.Detection{"confidence_score": 91.5}, "confidence unknown."},
		{intake.Detection{}, "confidence unknown."},
	} {
		if got := details(pb, tc.det, finding.Build(tc.det, finding.DefaultConfig())); !strings.Contains(got, tc.want) {
			t.Errorf("%v: details %q, want %q", tc.det, got, tc.want)
		}
	}
}
