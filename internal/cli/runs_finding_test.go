package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/riposte-dev/riposte/internal/api"
	"github.com/riposte-dev/riposte/workflows"
)

// TestPrintFindingConfidence: riposte runs show prints the view's
// confidence as finding.Confidence reads it (after the API's JSON: a
// float64), "unknown" when the view has none.
func TestPrintFindingConfidence(t *testing.T) {
	for _, tc := range []struct {
		conf any
		want string
	}{
		{85.0, "confidence 85,"},
		{0.0, "confidence 0,"},
		{nil, "confidence unknown,"},
	} {
		var b bytes.Buffer
		printFinding(&b, &api.RunDetail{Finding: map[string]any{"severity": "High", "confidence": tc.conf, "state": "active"}})
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("confidence %v: %q, want %q", tc.conf, b.String(), tc.want)
		}
	}
}

// TestPrintRefusedVotes: runs show lists a gate's votes (with the reason
// when one was given) and the votes it refused, and says when the name on
// one was not an identity Riposte authenticated.
func TestPrintRefusedVotes(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	d := &api.RunDetail{Steps: []workflows.StepResult{{ID: "isolate", Status: "waiting_approval", Gate: &workflows.Gate{
		State: workflows.GatePending, Quorum: 2, Votes: []workflows.Decision{
			{User: "U0SOCLEAD2", Approve: true, Via: workflows.ViaAPI, Reason: "confirmed with the user", At: at},
			{User: "U0SOCLEAD3", Approve: true, Via: workflows.ViaSlack, At: at},
		}, Refused: []workflows.RefusedDecision{
			{User: "UMALLORY", Verified: true, Approve: true, Via: workflows.ViaAPI, Refusal: "UMALLORY is not an approver for step isolate", At: at},
			{User: "U0SOCLEAD1", Approve: false, Via: workflows.ViaSlack, Refusal: "unsigned decision", At: at},
		}}}}}
	var b bytes.Buffer
	printRun(&b, d)
	for _, want := range []string{
		"refused: approve by UMALLORY via api at " + stamp(at) + ": UMALLORY is not an approver for step isolate",
		"refused: deny by U0SOCLEAD1 (identity not verified) via slack at",
		"approved by U0SOCLEAD2 via api at " + stamp(at) + ": confirmed with the user\n",
		"approved by U0SOCLEAD3 via slack at " + stamp(at) + "\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}

// riposte runs show cuts a step's output on a character boundary: a
// detection field in Cyrillic (2 bytes a letter) cut inside a letter
// printed a broken byte sequence.
func TestRunsShowCutsOutputOnACharacter(t *testing.T) {
	d := &api.RunDetail{Steps: []workflows.StepResult{{ID: "lookup", Status: "succeeded",
		Output: map[string]any{"user": strings.Repeat("пользователь", 20), "note": "a<b&c"}}}}
	var b bytes.Buffer
	printRun(&b, d)
	if !utf8.Valid(b.Bytes()) {
		t.Errorf("runs show writes invalid UTF-8: %q", b.String())
	}
	if strings.Contains(b.String(), `\u003c`) {
		t.Errorf("runs show escapes < as \\u003c: %s", b.String())
	}
}

// TestPrintVoteCredentials: README says the credential that authenticated
// a voter is shown by riposte runs show with each vote and each refused
// vote. A refused vote's credential was dropped (only accepted votes
// printed it), so an approver refused as "not an approver" could not be
// traced to the token that cast it; one whose seal did not check out says
// its credential is as unverified as its user.
func TestPrintVoteCredentials(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	hm := stamp(at)
	d := &api.RunDetail{Steps: []workflows.StepResult{{ID: "isolate", Status: "waiting_approval", Gate: &workflows.Gate{
		State: workflows.GatePending, Quorum: 2, Votes: []workflows.Decision{
			{User: "U0SOCLEAD2", Approve: true, Via: workflows.ViaAPI, Credential: "token:t0123456789ab", At: at},
		}, Refused: []workflows.RefusedDecision{
			{User: "UMALLORY", Verified: true, Credential: "token:tmallory00001", Approve: true, Via: workflows.ViaAPI, Refusal: "UMALLORY is not an approver for step isolate", At: at},
			{User: "U0SOCLEAD1", Credential: "oidc:someone", Approve: false, Via: workflows.ViaSlack, Refusal: "unsigned decision", At: at},
		}}}}}
	var b bytes.Buffer
	printRun(&b, d)
	for _, want := range []string{
		"approved by U0SOCLEAD2 via api (token:t0123456789ab) at " + hm,
		"refused: approve by UMALLORY via api (token:tmallory00001) at " + hm + ": UMALLORY is not an approver for step isolate",
		"refused: deny by U0SOCLEAD1 (identity not verified) via slack (oidc:someone, not verified) at " + hm,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}
