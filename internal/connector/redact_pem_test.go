package connector

import (
	"strings"
	"testing"
)

// A private key in PEM (RFC 7468) is a credential whatever key labels it,
// or none: a vendor echoing an uploaded certificate's key, a service
// account's key file quoted in a validation error. It was left in clear:
// a bare block entirely, and after "private_key: " only the word
// "-----BEGIN" was redacted. In an EC (SEC 1) or Ed25519 (PKCS #8) key the
// private scalar is among the first 50 characters of the body, so the
// 300 characters of an error's snippet hold the whole key.
func TestRedactShapesPEMPrivateKey(t *testing.T) {
	const ec = "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oJqTxdEHFqfBoAoGCCqGSM49"
	const ed = "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF"
	const ssh = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
	for _, tt := range []struct{ in, gone, keep string }{
		{"certificate rejected: key does not match\n-----BEGIN EC PRIVATE KEY-----\n" + ec + "\nAwEHoUQDQgAE\n-----END EC PRIVATE KEY-----\nrequest id 42",
			"MHcCAQEEIBkg4LVWM9nuwNSk3y", "request id 42"},
		{`{"error":"invalid key","key":"-----BEGIN PRIVATE KEY-----\n` + ed + `\n-----END PRIVATE KEY-----\n","id":"42"}`,
			"MC4CAQAwBQYDK2VwBCIEIJ", `"id":"42"`},
		{"private_key: -----BEGIN PRIVATE KEY-----\n" + ed + "\n-----END PRIVATE KEY-----", "MC4CAQAwBQYDK2VwBCIEIJ", "private_key"},
		{"-----BEGIN OPENSSH PRIVATE KEY-----\n" + ssh + "\n-----END OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXktdjEA", "OPENSSH PRIVATE KEY"},
		{"-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + ec, "MHcCAQEEIBkg4LVWM9nuwNSk3y", "ENCRYPTED PRIVATE KEY"},
		// A certificate is public: kept.
		{"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUfakeFAKEfakeFAKE\n-----END CERTIFICATE-----", "\x00", "MIIBszCCAVmgAwIBAgIUfakeFAKEfakeFAKE"},
	} {
		got := RedactShapes(tt.in)
		if strings.Contains(got, tt.gone) {
			t.Errorf("RedactShapes(%q)\n = %q: still holds %q", tt.in, got, tt.gone)
		}
		if !strings.Contains(got, tt.keep) {
			t.Errorf("RedactShapes(%q)\n = %q: lost %q", tt.in, got, tt.keep)
		}
		if again := RedactShapes(got); again != got {
			t.Errorf("RedactShapes is not idempotent on %q:\n %q\n %q", tt.in, got, again)
		}
	}
	// As an error quotes a vendor's answer.
	body := "400 Bad Request: the key does not match the certificate: -----BEGIN EC PRIVATE KEY-----\n" + ec + "\n-----END EC PRIVATE KEY-----"
	if got := Snippet([]byte(body)); strings.Contains(got, "MHcCAQEEIBkg4LVWM9nuwNSk3y") {
		t.Errorf("Snippet quotes the private key: %q", got)
	}
}
