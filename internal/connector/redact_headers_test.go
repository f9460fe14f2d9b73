package connector

import (
	"testing"
)

// Vendors' own credential headers (PAN-OS's X-PAN-KEY, GitLab's
// PRIVATE-TOKEN, Vault's X-Vault-Token) and cookies (a session is a
// bearer credential) were not secret key names, so a gateway echoing the
// request it refused, as a header dump or a JSON map of headers, had them
// in clear; a Vault token is also a credential by its prefix (hvs.
// service, hvb. batch, hvr. recovery, and the legacy s. of 24
// characters), wherever it is. A cookie header's value is hidden to the
// end of its line: its pairs are separated by "; ".
func TestRedactShapesVendorHeadersAndCookies(t *testing.T) {
	const vault = "hvs.CAESIJlWh7HtQkrGdYcj3HUUC3Jmvv4xSxK1ZXFHqGrxAAV4GhsKHGh2cy5vVmNtcVBQaHNDMjRQVnV4Mjc4V3c"
	for _, tt := range []struct{ in, want string }{
		{"GET /api/?type=op HTTP/1.1\r\nX-PAN-KEY: LUFRPT1TQWJTS3RuTVZ6WjVHMnZLbmVBSmc9PQ==\r\nHost: fw1",
			"GET /api/?type=op HTTP/1.1\r\nX-PAN-KEY: [REDACTED]\r\nHost: fw1"},
		{`{"headers":{"PRIVATE-TOKEN":"glpat-Zx8fQ2mB7nT4pL9sVw3K","Accept":"application/json"}}`,
			`{"headers":{"PRIVATE-TOKEN":"[REDACTED]","Accept":"application/json"}}`},
		{"PRIVATE-TOKEN: glpat-Zx8fQ2mB7nT4pL9sVw3K\nAccept: */*", "PRIVATE-TOKEN: [REDACTED]\nAccept: */*"},
		{`{"X-Vault-Token":"` + vault + `"}`, `{"X-Vault-Token":"[REDACTED]"}`},
		{`{"X-Vault-Token":["` + vault + `"],"X-Request-Id":["r-42"]}`, `{"X-Vault-Token":["[REDACTED]"],"X-Request-Id":["r-42"]}`},
		{"X-Vault-Token: s.Ga5jyNq6kNfRMVQk2LY1j9iu\nX-Vault-Namespace: soc", "X-Vault-Token: [REDACTED]\nX-Vault-Namespace: soc"},
		{"Cookie: session=8f14e45fceea167a; csrftoken=c9f0f895fb98ab91; theme=dark\r\nUser-Agent: riposte",
			"Cookie: [REDACTED]\r\nUser-Agent: riposte"},
		{"Set-Cookie: sid=31d4d96e407aad42; Path=/; Secure; HttpOnly\nContent-Length: 0", "Set-Cookie: [REDACTED]\nContent-Length: 0"},
		{`{"Cookie":"session=8f14e45fceea167a; theme=dark","Host":"api"}`, `{"Cookie":"[REDACTED]","Host":"api"}`},
		{`{"Set-Cookie":["sid=31d4d96e407aad42; Path=/","lang=en"]}`, `{"Set-Cookie":["[REDACTED]"]}`},
		{`refused map[Cookie:[session=8f14e45fceea167a; theme=dark] Accept:[*/*]]`, `refused map[Cookie:[REDACTED]] Accept:[*/*]]`}, // as for X-Api-Key (TestRedactShapesSecretKeyWithArrayValue)
		// Azure API Management's subscription key, Cloudflare's global API key.
		{"Ocp-Apim-Subscription-Key: 4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99\nAccept: */*", "Ocp-Apim-Subscription-Key: [REDACTED]\nAccept: */*"},
		{`{"X-Auth-Email":"soc@corp.example","X-Auth-Key":"c2547eb745079dac9320b638f5e225cf483cc5cfdda41"}`, `{"X-Auth-Email":"soc@corp.example","X-Auth-Key":"[REDACTED]"}`},
		// Vault tokens by shape, unlabelled.
		{`permission denied for token ` + vault + ` on sys/mounts`, `permission denied for token [REDACTED] on sys/mounts`},
		{`batch hvb.AAAAAQJ7qzYFzRmB2xWdJtR5_kNq3vT8c then`, `batch [REDACTED] then`},
		{`legacy s.Ga5jyNq6kNfRMVQk2LY1j9iu expired`, `legacy [REDACTED] expired`},
		// Not credentials: kept.
		{`cookies are disabled in this browser`, `cookies are disabled in this browser`},
		{`see items.Ga5jyNq6kNfRMVQk2LY1j9iu and s.example.com`, `see items.Ga5jyNq6kNfRMVQk2LY1j9iu and s.example.com`},
		{`X-Vault-Namespace: soc/prod`, `X-Vault-Namespace: soc/prod`},
	} {
		got := RedactShapes(tt.in)
		if got != tt.want {
			t.Errorf("RedactShapes(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
		if again := RedactShapes(got); again != got {
			t.Errorf("RedactShapes not idempotent: %q -> %q", got, again)
		}
	}
}
