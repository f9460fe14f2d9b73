package workflows

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// The run's current details are Markdown in the Temporal UI. Text that can
// quote outside data (an outcome's reason, a release error that may echo a
// vendor's body, a rollback id made from the detection's uid) must render
// as text: only the markup Riposte writes itself (paragraphs, its bold,
// lists and code spans) may appear.
func TestCurrentDetailsRenderOutsideTextLiterally(t *testing.T) {
	hostile := []string{
		"[click](http://evil.example/login)",
		"![x](http://evil)",
		"<img src=x onerror=alert(1)> <!channel>",
		"*bold* _em_ ~~gone~~",
		"x\n# Heading\n- item",
		"see https://evil.example and ceo@evil.example",
	}
	gfm := goldmark.New(goldmark.WithExtensions(extension.GFM))
	tag := regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)`)
	allowed := map[string]bool{"p": true, "strong": true, "ul": true, "li": true, "code": true}
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, h := range hostile {
		r := &run{
			pb:            &playbook.Compiled{Playbook: &playbook.Playbook{Name: "ransomware-response", Version: 3}},
			outcomes:      true,
			outcome:       OutcomeNotContained,
			outcomeDetail: "block refused by policy (r1): " + h,
			rolledBack:    &RolledBack{By: h, At: at, RollbackID: "rollback:ransomware-response:" + h},
			holds:         []*Hold{{Step: "isolate", Undo: "crowdstrike.lift_containment", Until: at, ReleasedAt: &at, Error: h}},
		}
		md := r.details(RunSucceeded)
		var out bytes.Buffer
		if err := gfm.Convert([]byte(md), &out); err != nil {
			t.Fatal(err)
		}
		for _, m := range tag.FindAllStringSubmatch(out.String(), -1) {
			if !allowed[m[2]] {
				t.Errorf("details with %q render a <%s%s> element:\n%s\n%s", h, m[1], m[2], md, out.String())
			}
		}
		if n := strings.Count(out.String(), "<li>"); n != 1 {
			t.Errorf("details with %q render %d list items, want 1 (the hold):\n%s", h, n, out.String())
		}
	}
}
