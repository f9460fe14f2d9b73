package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/riposte-dev/riposte/internal/cli"
)

// Browser tests drive headless Chromium (Debian package chromium; .ci/run
// installs it) with chromedp. Without Chromium they skip, unless
// RIPOSTE_REQUIRE_BROWSER=1 (set by .ci/run) makes that a failure.
// Screenshots go to RIPOSTE_ARTIFACTS (default: a temporary directory).

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("RIPOSTE_REQUIRE_BROWSER") == "1" {
		t.Fatal("no Chromium: install the Debian package chromium (.ci/run does)")
	}
	t.Skip("no Chromium (Debian package chromium); .ci/run installs it and runs this test")
	return ""
}

func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("RIPOSTE_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser starts headless Chromium with the flags the guide prescribes.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(bctx, 3*time.Minute)
	t.Cleanup(cancel3)
	return ctx
}

// waitText reloads nothing: it polls the page's text until every want
// appears, and returns it.
func waitText(t *testing.T, ctx context.Context, limit time.Duration, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	var text string
	for {
		var err error
		if text, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`)); err != nil {
			t.Fatal(err)
		}
		missing := ""
		for _, w := range want {
			if !strings.Contains(text, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page never showed %q; it shows:\n%.3000s", missing, text)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// TestBrowserSlackLabAndTemporalUI clicks Approve on /lab/slack in a real
// browser (the gate opens, the message is updated), then opens the run in
// the Temporal UI and checks that it shows the decoded detection and the
// step summaries.
func TestBrowserSlackLabAndTemporalUI(t *testing.T) {
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
	code, r := h.submit(`{"class_uid":2004,"time":1,"severity_id":4,"finding_info":{"uid":"browser-1","title":"Beaconing to 203.0.113.96"},"metadata":{"product":{"name":"Sentinel-LLM Triage"}},"dst_endpoint":{"ip":"203.0.113.96"},"unmapped":{"deny_case":true}}`)
	if code != 202 {
		t.Fatalf("submit: %d", code)
	}
	wid := matched(t, r, "e2e-deny")
	h.waitStep(wid, "block", "waiting_approval")

	// Slack lab: the request, as URECORDER, then Approve.
	if err := chromedp.Do(ctx, chromedp.Navigate(h.baseURL+"/lab/slack?as=URECORDER"), chromedp.WaitVisible(chromedp.CSS(`button[data-action="riposte_approve"]`))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, dir, "slack-lab-request.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[data-action="riposte_approve"]`))); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, 30*time.Second, "URECORDER clicked riposte_approve", "answered 200")
	d := h.waitStep(wid, "block", "succeeded")
	if g := d.Steps[0].Gate; g == nil || g.State != "approved" || g.Decision == nil || g.Decision.User != "URECORDER" {
		t.Fatalf("gate after the click = %+v", d.Steps[0].Gate)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := chromedp.Do(ctx, chromedp.Navigate(h.baseURL+"/lab/slack?as=URECORDER")); err != nil {
			t.Fatal(err)
		}
		html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(html, "edited") && !strings.Contains(html, `data-action="riposte_approve"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the message was not updated:\n%.3000s", html)
		}
		time.Sleep(300 * time.Millisecond)
	}
	screenshot(t, ctx, dir, "slack-lab-approved.png")

	// The run in the Temporal UI: decoded input (the detection) and the
	// steps' summaries.
	run := h.waitRun(wid, time.Minute)
	if run.URL == "" {
		t.Fatal("the run has no UI link")
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(run.URL)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, 90*time.Second, "Workflow Type\ne2e-deny", "\"detection\": {\n    \"class_uid\": 2004", "\"outcome\": \"contained\"")
	// The decoded detection shows the finding's own fields, and the event
	// history reads like a case: the steps' activity summaries, the
	// approval timer's and the decision's summaries (decoded through the
	// codec endpoint like the input).
	// Summaries are rendered as Markdown inside one iframe each.
	// (The UI's Markdown typesets 1/1 and apostrophes, so prefixes.)
	summaries := waitSummaries(t, ctx, 90*time.Second,
		"block", "ticket", // the steps' activities
		"approval request: block",
		"approval for block: times out in ",
		"decision on block by URECORDER via slack: approve (1 of 1 approvals, gate approved)",
		"approval update: block",
		"approval message: block shows the run",
	)
	text := waitText(t, ctx, 30*time.Second, "\"title\": \"Beaconing to 203.0.113.96\"")
	t.Logf("run page:\n%.1000s\nsummaries: %q", text, summaries)
	screenshot(t, ctx, dir, "temporal-ui-run.png")
}

// waitSummaries polls the summaries the Temporal UI shows for the history's
// events (each rendered in its own iframe) until every want is a prefix of
// one of them, and returns them.
func waitSummaries(t *testing.T, ctx context.Context, limit time.Duration, want ...string) []string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('iframe[title="Summary"]')].map(f => { try { return f.contentDocument ? f.contentDocument.body.innerText.trim() : "(no access: " + (f.getAttribute("srcdoc") || "").slice(0, 200) + ")" } catch (e) { return "(error " + e + ")" } })`))
		if err != nil {
			t.Fatal(err)
		}
		missing := ""
		for _, w := range want {
			found := false
			for _, g := range got {
				if strings.HasPrefix(g, w) {
					found = true
				}
			}
			if !found {
				missing = w
				break
			}
		}
		if missing == "" {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run page never showed the summary %q; it shows %q", missing, got)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
