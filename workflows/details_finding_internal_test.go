package workflows

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/riposte-dev/riposte/internal/mdtext/uirender"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// The current details show the finding view: its hosts, users and IPs and
// the detector's withdrawal reason, all text of the detection (README,
// "Monitoring in the Temporal UI"). Each is an inline code span, and a
// value holding backticks must not close it early: the rest would be
// Markdown, a link or an image in the analyst's UI.
func TestCurrentDetailsRenderTheFindingLiterally(t *testing.T) {
	hostile := []string{
		"x` [click](http://evil.example/login) `y",
		"`![x](http://evil.example/p.png)`",
		"``<img src=x onerror=alert(1)>``",
		"a`<b>bold</b>`c",
	}
	gfm := goldmark.New(goldmark.WithExtensions(extension.GFM))
	tag := regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)`)
	allowed := map[string]bool{"p": true, "strong": true, "ul": true, "li": true, "code": true, "main": true}
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, h := range hostile {
		entity := []any{map[string]any{"value": h}}
		r := &run{
			pb:         &playbook.Compiled{Playbook: &playbook.Playbook{Name: "ransomware-response", Version: 3}},
			finding:    map[string]any{"severity": h, "state": "active", "hosts": entity, "users": entity, "ips": map[string]any{"all": entity}},
			withdrawal: &Withdrawal{At: at, Reason: h},
		}
		md := r.details(RunSucceeded)
		var gout bytes.Buffer
		if err := gfm.Convert([]byte(md), &gout); err != nil {
			t.Fatal(err)
		}
		ui, err := uirender.HTML(md)
		if err != nil {
			t.Fatal(err)
		}
		for name, out := range map[string]string{"GFM": gout.String(), "the Temporal UI": ui} {
			for _, m := range tag.FindAllStringSubmatch(out, -1) {
				if !allowed[m[2]] {
					t.Errorf("%s renders the finding %q as a <%s%s> element:\n%s\n%s", name, h, m[1], m[2], md, out)
				}
			}
			if strings.Contains(html.UnescapeString(out), "http://evil") && !strings.Contains(html.UnescapeString(out), "<code>") {
				t.Errorf("%s shows the finding's URL outside code:\n%s", name, out)
			}
		}
	}
}
