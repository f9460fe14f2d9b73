package cli

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// riposte tokens list --json printed {"tokens": null} when no token was
// ever created (no file yet) and {"tokens": [...]} once one was: a script
// iterating over .tokens (Python's for t in out["tokens"]) failed on the
// first and worked on the second. The list is always a list.
func TestTokensListJSONIsAListWhenEmpty(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens.json")
	code, out, errOut := runCLI(t, "tokens", "list", "--json", "--tokens-file", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if string(v["tokens"]) != "[]" {
		t.Errorf(`"tokens" = %s, want [] (no token yet)`, v["tokens"])
	}
}
