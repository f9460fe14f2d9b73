package connector

import (
	"encoding/json"
	"strings"
	"testing"
)

// A vendor that quotes the request it refused inside its JSON error (a
// "received" or "body" field, a logged request) writes that request as a
// JSON string: its quotes escaped, "{\"password\":\"…\"}". The key is then
// followed by \" and no pattern matched: the secret was quoted in the
// activity error (Temporal history, logs, the API) in clear, though the
// same answer unescaped is redacted.
func TestRedactShapesSecretInEscapedJSON(t *testing.T) {
	inner, _ := json.Marshal(map[string]string{"username": "svc-riposte", "password": `Tr0ub4dor&3x "horse" battery`, "client_secret": "Qp8~abc.DEF_ghi-123"})
	outer, _ := json.Marshal(map[string]any{"error": "invalid_request", "received": string(inner), "note": "see docs"})
	for _, in := range []string{
		string(outer),
		// A hand-written echo: the escaped value, then more text.
		`{"message":"bad body {\"api_key\":\"0123456789abcdef0123\", \"size\":3}"}`,
	} {
		for name, got := range map[string]string{"RedactShapes": RedactShapes(in), "Snippet": Snippet([]byte(in))} {
			for _, secret := range []string{"Tr0ub4dor", "horse", "battery", "Qp8~abc", "0123456789abcdef0123"} {
				if strings.Contains(got, secret) {
					t.Errorf("%s(%s) = %s: still holds %q", name, in, got, secret)
				}
			}
			for _, keep := range []string{"svc-riposte", "invalid_request", "see docs", `\"size\":3`} {
				if strings.Contains(in, keep) && !strings.Contains(got, keep) {
					t.Errorf("%s(%s) = %s: lost %q", name, in, got, keep)
				}
			}
		}
	}
}

// The 64 KiB cut of Snippet landing at a space inside such an escaped
// value redacts it as it does a quoted one.
func TestSnippetCutInsideEscapedSecretRedactsIt(t *testing.T) {
	head := `{"id_token": "eyJhbGciOiJSUzI1NiJ9.`
	mid := `.c2lnbmF0dXJl", "received": "{\"password\":\"correct horse `
	n := snippetScan - len(head) - len(mid) - 3
	body := head + strings.Repeat("A", n) + mid + `battery staple\"}"}`
	if !strings.Contains(body[:snippetScan], "correct horse bat") {
		t.Fatalf("test set-up: the cut is not inside the password")
	}
	got := Snippet([]byte(body))
	if strings.Contains(got, "correct") || strings.Contains(got, "horse") || !strings.Contains(got, `\"password\":\"[REDACTED]`) {
		t.Errorf("Snippet = %q: the password's words before the 64 KiB cut are quoted", got)
	}
}
