package config

import (
	"strings"
	"testing"
)

// A secret pasted where its env var's name belongs ({env: <the token>}, a
// common slip: the field holds the value, env names where it comes from)
// was quoted in full by the error "… is not a valid env var name", which
// riposte validate, serve and the worker print to stderr, CI logs and the
// startup log. Tokens holding '-', '.', '/', '+' or '=' (a Slack token, an
// Okta SSWS key, a base64 key) are never valid names and take that path;
// the error must not quote what it refused. (Secrets that are valid names:
// TestSecretPastedAsValidEnvNameIsNotEchoed.)
func TestSecretPastedAsEnvNameIsNotEchoed(t *testing.T) {
	const secret = "xoxb-1234-5678-S3cr3tValue42"
	for name, line := range map[string]string{
		"flow":         `    api_token: {env: "` + secret + `"}`,
		"block":        "    api_token:\n      env: " + secret,
		"block quoted": "    api_token:\n      env: '" + secret + "'",
	} {
		src := "connections:\n  s1:\n    type: sentinelone\n    base_url: https://usea1.sentinelone.net\n" + line + "\n"
		_, diags := ParseConnections("riposte.yaml", []byte(src), testOptions(nil))
		errs := diags.Errors()
		if len(errs) == 0 {
			t.Errorf("%s: no error", name)
			continue
		}
		for _, d := range diags {
			if p := d.Pretty(); strings.Contains(p, "S3cr3t") {
				t.Errorf("%s: the diagnostic echoes the secret:\n%s", name, p)
			}
		}
		if !strings.Contains(errs[0].Message, "not a valid env var name") {
			t.Errorf("%s: got %v, want an invalid env var name error", name, errs)
		}
	}
}
