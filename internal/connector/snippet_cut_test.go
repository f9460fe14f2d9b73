package connector

import (
	"strings"
	"testing"
)

// Snippet redacts only the first 64 KiB of an answer (snippetScan), cut
// back to a whitespace "so no credential is cut out of its pattern". A
// quoted value may hold whitespace (a passphrase), and its pattern needs
// the closing quote: cut at a space inside it, the key and the words
// before the cut match no pattern and are quoted as they are. They show
// when what comes before shrinks under 300 characters once redacted (a
// large token, here an id_token of 64 KiB, becomes [REDACTED]).
func TestSnippetCutInsideQuotedSecretRedactsIt(t *testing.T) {
	head := `{"id_token": "eyJhbGciOiJSUzI1NiJ9.`
	mid := `.c2lnbmF0dXJl", "password": "correct horse `
	// The cut (snippetScan) falls inside "battery", after "correct horse ".
	n := snippetScan - len(head) - len(mid) - 3
	body := head + strings.Repeat("A", n) + mid + `battery staple"}`
	if !strings.Contains(body[:snippetScan], "correct horse bat") || strings.Contains(body[:snippetScan], "staple") {
		t.Fatalf("test set-up: the cut is not inside the password")
	}
	got := Snippet([]byte(body))
	if strings.Contains(got, "correct") || strings.Contains(got, "horse") {
		t.Errorf("Snippet = %q: the password's words before the 64 KiB cut are quoted", got)
	}
	// The same answer under the cut is redacted whole.
	if small := Snippet([]byte(`{"id_token": "eyJhbGciOiJSUzI1NiJ9.AAAA.c2lnbmF0dXJl", "password": "correct horse battery staple"}`)); strings.Contains(small, "correct") {
		t.Fatalf("test set-up: the short answer is not redacted: %q", small)
	}
}
