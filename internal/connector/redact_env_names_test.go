package connector

import "testing"

// A name/value pair's name is an environment variable's (ECS, Kubernetes,
// Azure app settings), and the commonest secret variables end in TOKEN
// (GITHUB_TOKEN, NPM_TOKEN, HF_TOKEN, VAULT_TOKEN's kin) or SECRET_KEY
// (Django's and Flask's SECRET_KEY, STRIPE_SECRET_KEY, AWS_SECRET_KEY):
// neither is a secret key name to its end, so a vendor echoing a task
// definition showed their values in clear. A variable's name ending in
// the word TOKEN is a secret's (no one names a cursor variable so; the
// key-value rule keeps "next_token", which is), and secret_key is a
// secret key name wherever it stands ({"secret_key": "…"}: MinIO,
// Scaleway, Terraform's AWS provider).
func TestRedactShapesSecretEnvNames(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"name":"GITHUB_TOKEN","value":"ghp_R4nd0mLettersAndDigits0123456789ab"}`, `{"name":"GITHUB_TOKEN","value":"[REDACTED]"}`},
		{`[{"name":"NPM_TOKEN","value":"npm_abcDEF123"},{"name":"REGION","value":"eu-west-1"}]`, `[{"name":"NPM_TOKEN","value":"[REDACTED]"},{"name":"REGION","value":"eu-west-1"}]`},
		{`{"name":"token","value":"b3f1c2d4e5"}`, `{"name":"token","value":"[REDACTED]"}`},
		{`{"name":"DJANGO_SECRET_KEY","value":"django-insecure-9x!k2"}`, `{"name":"DJANGO_SECRET_KEY","value":"[REDACTED]"}`},
		{`{"Key":"SECRET_KEY","Value":"f00b4r-b4z"}`, `{"Key":"SECRET_KEY","Value":"[REDACTED]"}`},
		{`{"access_key":"AKIAIOSFODNN7EXAMPLE","secret_key":"wJalrXUtnFEMI/K7MDENG"}`, `{"access_key":"AKIAIOSFODNN7EXAMPLE","secret_key":"[REDACTED]"}`},
		{`SecretKey: f00b4r-b4z`, `SecretKey: [REDACTED]`},
		// Kept: names that are not a secret's, and the key-value rule's
		// cursors.
		{`{"name":"TOKEN_URL","value":"https://login.example.com/oauth2/token"}`, `{"name":"TOKEN_URL","value":"https://login.example.com/oauth2/token"}`},
		{`{"name":"SECRET_KEY_FILE","value":"/run/secrets/django"}`, `{"name":"SECRET_KEY_FILE","value":"/run/secrets/django"}`},
		{`{"next_token":"AAEAAWV4YW1wbGU","host":"fin-ws-042"}`, `{"next_token":"AAEAAWV4YW1wbGU","host":"fin-ws-042"}`},
		{`{"secret_key_id":"kid-42"}`, `{"secret_key_id":"kid-42"}`},
	} {
		if got := RedactShapes(tt.in); got != tt.want {
			t.Errorf("RedactShapes(%s)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}
