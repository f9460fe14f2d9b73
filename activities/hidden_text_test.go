package activities_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/internal/slackfake"
)

// Playbooks put detection text (a host name, a title, a command line) in
// the text these notify actions send. A bidi override there (U+202E
// shows "evil\u202Efdp.exe" as "evilexe.pdf" and the rest of the line
// reversed), a zero-width or tag character (hidden ASCII) or a terminal
// escape must not reach the analyst who reads the ticket, the page or the
// message: the Slack approval message, the Temporal UI, the CLI and the
// Jira summary drop them; the bodies of slack.post_message, jira.* and
// pagerduty.trigger must too. Line breaks and tabs stay.
const hiddenText = "host fin-ws-042\u202Eexe.fdp\u202C ran \u200Bcmd\u2066 \U000E0069\U000E0067\x1b[31m\x07 now\nnext\tline"

func hidden(s string) []rune {
	var out []rune
	for _, r := range s {
		if (unicode.IsControl(r) && r != '\n' && r != '\t') || unicode.Is(unicode.Cf, r) {
			out = append(out, r)
		}
	}
	return out
}

func TestNotifyActionsDropHiddenCharacters(t *testing.T) {
	h := connectortest.New(t)
	h.MustRun("jira.create_issue", map[string]any{"project": "SEC", "summary": "s", "description": hiddenText}, "k-issue")
	st := h.Lab.State()
	if len(st.Tickets) != 1 {
		t.Fatalf("tickets: %v", st.Tickets)
	}
	key := st.Tickets[0].Key
	h.MustRun("jira.add_comment", map[string]any{"issue": key, "body": hiddenText}, "k-comment")
	h.MustRun("pagerduty.trigger", map[string]any{"summary": hiddenText, "source": hiddenText}, "k-page")
	st = h.Lab.State()
	got := map[string]string{"jira description": st.Tickets[0].Description, "pagerduty summary": st.Pages[0].Summary, "pagerduty source": st.Pages[0].Source}
	if len(st.Tickets[0].Comments) == 1 {
		got["jira comment"] = st.Tickets[0].Comments[0].Body
	}
	for what, s := range got {
		if hs := hidden(s); len(hs) > 0 {
			t.Errorf("%s keeps %U: %+q", what, hs, s)
		}
		if !strings.Contains(s, "fin-ws-042") {
			t.Errorf("%s lost the text: %+q", what, s)
		}
	}
}

func TestSlackPostMessageDropsHiddenCharacters(t *testing.T) {
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	poster, err := slackapp.NewPoster(slackapp.Config{BotToken: slackfake.BotToken, APIURL: fake.URL(), ApprovalChannel: "C0RIPOSTE1"}, slackapp.PosterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env := activities.NewEnv(nil)
	env.Slack = poster
	if _, err := runHandler(t, env, "slack.post_message", map[string]any{"channel": "C0RIPOSTE1", "text": hiddenText}); err != nil {
		t.Fatal(err)
	}
	text := fake.Messages()[0].Params["text"]
	if hs := hidden(text); len(hs) > 0 {
		t.Errorf("slack.post_message posts %U: %+q", hs, text)
	}
	if !strings.Contains(text, "fin-ws-042") || !strings.Contains(text, "now\nnext\tline") {
		t.Errorf("slack.post_message lost the text: %+q", text)
	}
}

// The comment defender.isolate_machine records on the machine action is
// shown in the Defender portal's action center and the machine's
// timeline; playbooks put the detection's title in it.
func TestDefenderCommentDropsHiddenCharacters(t *testing.T) {
	var comment string
	env, url := vendorServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/token":
			fmt.Fprint(w, `{"access_token":"t","token_type":"Bearer","expires_in":3600}`)
		case r.URL.Path == "/api/machines":
			fmt.Fprint(w, `{"value":[{"id":"m1","computerDnsName":"h1.corp"}]}`)
		case r.URL.Path == "/api/machineactions":
			fmt.Fprint(w, `{"value":[]}`)
		case r.URL.Path == "/api/machines/m1/isolate":
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			comment, _ = body["Comment"].(string)
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id":"a1","type":"Isolate","status":"Pending","machineId":"m1"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	env.Connections["defender"] = activities.Connection{Type: "defender", BaseURL: url,
		Options: map[string]string{"client_id": "c", "token_url": url + "/token"}, Secrets: map[string]activities.SecretRef{"client_secret": {Lab: "s3cret"}}}
	if _, err := runHandler(t, env, "defender.isolate_machine", map[string]any{"hostname": "h1", "comment": hiddenText}); err != nil {
		t.Fatal(err)
	}
	if hs := hidden(comment); len(hs) > 0 || !strings.Contains(comment, "fin-ws-042") {
		t.Errorf("defender comment keeps %U: %+q", hs, comment)
	}
}
