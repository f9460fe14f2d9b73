package jira_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities/jira"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// longText is detection text longer than Jira takes in a description or a
// comment (32,767 characters): a process list quoted from a detection.
func longText() string {
	var b strings.Builder
	for i := 0; b.Len() < 40000; i++ {
		fmt.Fprintf(&b, "pid %d: powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA\n", 4000+i)
	}
	return b.String()
}

// adfText is the text of an ADF document, lines joined by newlines.
func adfText(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		m, _ := v.(map[string]any)
		switch m["type"] {
		case "text":
			b.WriteString(m["text"].(string))
		case "hardBreak":
			b.WriteString("\n")
		case "paragraph":
			if b.Len() > 0 {
				b.WriteString("\n\n")
			}
		}
		list, _ := m["content"].([]any)
		for _, c := range list {
			walk(c)
		}
	}
	walk(v)
	return b.String()
}

func getIssue(t *testing.T, h *connectortest.Harness, key string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", lab.Fake[*jira.Fake](h.Lab).Connections()["jira"].BaseURL+"/rest/api/3/issue/"+key, nil)
	req.SetBasicAuth("soc@example.com", "lab-jira-token") // the lab's public test credentials
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Fields map[string]any `json:"fields"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return body.Fields
}

// Jira Cloud refuses a description or comment over 32,767 characters with
// a 400 and creates nothing. The ticket of an incident must not be lost
// because the detection quoted a long process list: the text is cut to fit,
// saying so, and the issue and the comment are created.
func TestLongTextIsCutToFitJira(t *testing.T) {
	h := connectortest.New(t)
	text := longText()
	out, err := h.Run("jira.create_issue", map[string]any{"summary": "Encoded PowerShell on fin-ws-042", "description": text}, "k1")
	if err != nil {
		t.Fatalf("create_issue with a %d-character description: %v", len(text), err)
	}
	desc := adfText(getIssue(t, h, out["key"].(string))["description"])
	if !strings.HasPrefix(desc, "pid 4000: powershell.exe") || !strings.Contains(desc, "cut to fit") {
		t.Errorf("description kept %d characters, ends %q", len(desc), desc[max(0, len(desc)-200):])
	}
	if _, err := h.Run("jira.add_comment", map[string]any{"issue": out["key"], "body": text}, "k2"); err != nil {
		t.Fatalf("add_comment with a %d-character body: %v", len(text), err)
	}
}
