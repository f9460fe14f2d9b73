package config

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/connector"
)

// TestSecretPastedAsValidEnvNameIsNotEchoed: the guard against a secret
// pasted where its env var's name belongs ({env: <the secret>}) assumed a
// secret is never a valid env var name. Many are: a CrowdStrike API client
// secret (40 letters and digits), a SentinelOne API token, a VirusTotal or
// AbuseIPDB key (hex, starting with a letter more often than not), an AWS
// secret access key without '/' or '+'. Such a value passed the name check
// and the error "env var <the secret> is not set" printed it (and the
// snippet of its line showed it), to stderr, CI logs and the worker's
// startup log; Resolve's error said it again. A name that reads like a
// secret (safefile.LooksLikeSecret, as for {file:}) is no longer printed.
func TestSecretPastedAsValidEnvNameIsNotEchoed(t *testing.T) {
	for _, tt := range []struct{ typ, field, secret string }{
		{"crowdstrike", "client_secret", "Xk3Jq9LmN2pR5sT8vW1yZ4bC7dF0gH6jK2mP9qR5"},
		{"virustotal", "api_key", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	} {
		src := "connections:\n  c1:\n    type: " + tt.typ + "\n    client_id: abc\n    " + tt.field + ": {env: " + tt.secret + "}\n"
		_, diags := ParseConnections("riposte.yaml", []byte(src), testOptions(nil))
		errs := diags.Errors()
		if len(errs) == 0 {
			t.Errorf("%s: no error:\n%s", tt.typ, diags)
			continue
		}
		found := false
		for _, d := range errs {
			if strings.Contains(d.Message, tt.field) && d.Line == 5 {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no error at the reference (line 5):\n%s", tt.typ, diags)
		}
		for _, d := range diags {
			if p := d.Pretty(); strings.Contains(p, tt.secret[:12]) {
				t.Errorf("%s: the diagnostic echoes the secret:\n%s", tt.typ, p)
			}
		}
		_, err := connector.SecretRef{Env: tt.secret}.Resolve()
		if err == nil || strings.Contains(err.Error(), tt.secret[:12]) {
			t.Errorf("%s: Resolve: %v", tt.typ, err)
		}
		if s := (connector.SecretRef{Env: tt.secret}).String(); strings.Contains(s, tt.secret[:12]) {
			t.Errorf("%s: String() = %q", tt.typ, s)
		}
	}
	// A name is still named.
	src := "connections:\n  c1:\n    type: crowdstrike\n    client_id: abc\n    client_secret: {env: CS_CLIENT_SECRET_2024}\n"
	if _, diags := ParseConnections("riposte.yaml", []byte(src), testOptions(nil)); !strings.Contains(diags.Error(), "env var CS_CLIENT_SECRET_2024 is not set") {
		t.Errorf("a real name is no longer named:\n%s", diags)
	}
}
