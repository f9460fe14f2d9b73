package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/riposte-dev/riposte/internal/cli"
)

// TestBrowserTemporalUIShowsDetectionTextLiterally opens, in a real
// browser, the Temporal UI page of a run whose detection title and host
// name are Markdown and HTML (a link, an image, an autolink, a tag): every
// summary and details frame the UI renders holds no link, image or script,
// and the title reads as the characters it is.
func TestBrowserTemporalUIShowsDetectionTextLiterally(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server and a browser")
	}
	ctx := browser(t)
	dir := artifactsDir(t)
	for _, k := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APPROVAL_CHANNEL"} {
		t.Setenv(k, "")
	}
	h := startDevForTest(t, t.TempDir(), func(o *cli.DevOptions) { o.SlackFake = true })
	defer h.sys.Close()
	title := "Beaconing [Reset your password](https://evil.example/login) <img src=x onerror=alert(1)> ![t](http://track.example/p.gif) <https://evil.example> *now*"
	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"browser-markup-1","title":"` + strings.ReplaceAll(title, `"`, `\"`) + `"},"metadata":{"product":{"name":"Sentinel-LLM Triage"}},"device":{"hostname":"ws-01 [x](https://evil.example) <b>bold</b>"},"dst_endpoint":{"ip":"203.0.113.96"},"unmapped":{"deny_case":true}}`)
	if code != 202 {
		t.Fatalf("submit: %d %+v", code, r)
	}
	wid := matched(t, r, "e2e-deny")
	// The run waits at its gate: its page shows the summary, the details
	// and the current details (the finding view, with the host).
	run := h.waitStep(wid, "block", "waiting_approval")
	if run.URL == "" {
		t.Fatal("the run has no UI link")
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(run.URL)); err != nil {
		t.Fatal(err)
	}
	// Every frame the UI renders Markdown in: its text, and the elements
	// in its <main> other than paragraphs, lists, bold and code.
	const frames = `[...document.querySelectorAll('iframe')].map(f => { try { const m = f.contentDocument && f.contentDocument.querySelector('main'); if (!m) return ["", ""]; return [m.innerText.replace(/\s+/g, " ").trim(), [...m.querySelectorAll('*')].map(e => e.tagName.toLowerCase()).filter(n => !["p","ul","li","strong","code"].includes(n)).join(",")] } catch (e) { return ["(error " + e + ")", ""] } })`
	deadline := time.Now().Add(90 * time.Second)
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](frames))
		if err != nil {
			t.Fatal(err)
		}
		shown := false
		for _, f := range got {
			if f[1] != "" {
				screenshot(t, ctx, dir, "temporal-ui-markup.png")
				t.Fatalf("a frame of the run page renders detection text as markup (%s): %q", f[1], f[0])
			}
			if strings.Contains(f[0], title) {
				shown = true
			}
		}
		if shown {
			t.Logf("frames: %q", got)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run page never showed the title %q literally; its frames show %q", title, got)
		}
		time.Sleep(300 * time.Millisecond)
	}
	screenshot(t, ctx, dir, "temporal-ui-markup.png")
}
