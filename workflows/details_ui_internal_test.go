package workflows

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/mdtext/uirender"
	"github.com/riposte-dev/riposte/internal/playbook"
)

// TestCurrentDetailsInTheTemporalUI renders a run's current details with
// the Temporal UI's own renderer (gomarkdown, ui-server's /render route),
// not a CommonMark one: what an analyst reads in the run's page.
//
//   - The finding view's lists (hosts, users, IPs, the detector's update
//     or withdrawal) and the time-boxed containment list are lists: that
//     renderer starts no list inside a paragraph, so written right under
//     their heading line they ran into one line with literal "- ".
//   - Detection values (host, user, IP, severity, state, withdrawal
//     reason) holding Markdown or HTML show as the text they are; a line
//     break or tab inside one shows as a space, not as nothing ("evil
//     corp" read "evilcorp").
//   - Outside text that ends with a backslash (an outcome's reason) does
//     not eat the bold around it: "Outcome: **… end\\**" read
//     "*… end\*" in italics.
func TestCurrentDetailsInTheTemporalUI(t *testing.T) {
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	allowed := map[string]bool{"p": true, "strong": true, "ul": true, "li": true, "code": true}
	tagRe := regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)`)
	for _, h := range []string{
		"[x](javascript:alert(1))",
		"<https://evil.example>",
		"![](http://track.example/p.gif)",
		"<img src=x onerror=alert(1)>", // (its renderer curls straight quotes: see mdtext)
		"<script>alert(1)</script>",
		"&lt;b&gt; &#x3C;script&#62;",
		"[x][1]\n[1]: http://evil.example",
		"Title\n===",
		"| a | b |\n|---|---|\n| 1 | 2 |",
		"*bold* _em_ ~~gone~~",
		"evil\tcorp\nhost",
		"ends with a backslash\\",
	} {
		for _, withdrawn := range []bool{false, true} {
			r := &run{
				pb:            &playbook.Compiled{Playbook: &playbook.Playbook{Name: "ransomware-response", Version: 3}},
				outcomes:      true,
				outcome:       OutcomeNotContained,
				outcomeDetail: "block refused by policy (r1): " + h,
				finding: map[string]any{
					"severity": h, "state": h, "confidence": 50.0,
					"hosts": []any{map[string]any{"value": h}},
					"users": []any{map[string]any{"value": h}},
					"ips":   map[string]any{"all": []any{map[string]any{"value": h}}},
				},
				holds: []*Hold{{Step: "isolate", Undo: "crowdstrike.lift_containment", Until: at, ReleasedAt: &at, Error: h}},
			}
			wantItems := 5 // hosts, users, IPs, the update; the hold
			if withdrawn {
				r.withdrawal = &Withdrawal{At: at, Reason: h}
			} else {
				r.changes = []FindingChange{{At: at, Severity: h}}
			}
			md := r.details(RunSucceeded)
			out, err := uirender.HTML(md)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range tagRe.FindAllStringSubmatch(out, -1) {
				if !allowed[m[2]] {
					t.Errorf("details with %q render a <%s%s> element in the Temporal UI:\n%s\n%s", h, m[1], m[2], md, out)
				}
			}
			if n := strings.Count(out, "<li>"); n != wantItems {
				t.Errorf("details with %q render %d list items in the Temporal UI, want %d:\n%s\n%s", h, n, wantItems, md, out)
			}
			read := uiText(t, md)
			literal := strings.Join(strings.Fields(h), " ")
			for _, want := range []string{
				"Outcome: not_contained: block refused by policy (r1): " + literal + " Finding:",
				"hosts: " + literal,
				"users: " + literal,
				"IPs: " + literal,
				"severity " + literal + ", confidence 50%, state " + literal,
				"release failed at 2026-12-04T12:00:00Z: " + literal,
			} {
				if !strings.Contains(read, want) {
					t.Errorf("details with %q read in the Temporal UI as\n%s\nwhich lacks %q\n(markdown %q)", h, read, want, md)
				}
			}
			if withdrawn && !strings.Contains(read, "withdrawn by the detector at 2026-12-04T12:00:00Z: "+literal) {
				t.Errorf("details with the withdrawal reason %q read %q", h, read)
			}
		}
	}
}

// TestCurrentDetailsBacktickInDetectionValue: a detection value is shown
// in a code span, so a backtick in it must not close that span and let
// what follows render as a link or an image in the Temporal UI (backticks
// are dropped from it).
func TestCurrentDetailsBacktickInDetectionValue(t *testing.T) {
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	allowed := map[string]bool{"p": true, "strong": true, "ul": true, "li": true, "code": true}
	tagRe := regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)`)
	for _, h := range []string{
		"a` [Reset your password](http://evil.example/login) `b",
		"`` ![](http://track.example/p.gif) ``",
		"x` <https://evil.example> `",
	} {
		r := &run{
			pb: &playbook.Compiled{Playbook: &playbook.Playbook{Name: "ransomware-response", Version: 3}},
			finding: map[string]any{
				"severity": h, "state": h,
				"hosts": []any{map[string]any{"value": h}},
				"users": []any{map[string]any{"value": h}},
				"ips":   map[string]any{"all": []any{map[string]any{"value": h}}},
			},
			withdrawal: &Withdrawal{At: at, Reason: h},
		}
		md := r.details(RunSucceeded)
		out, err := uirender.HTML(md)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tagRe.FindAllStringSubmatch(out, -1) {
			if !allowed[m[2]] {
				t.Errorf("details with %q render a <%s%s> element in the Temporal UI:\n%s\n%s", h, m[1], m[2], md, out)
			}
		}
	}
}
