package connector

import (
	"errors"
	"strings"
	"testing"
)

// A {file: …} reference that holds the secret itself (pasted where the
// path belongs) reaches Resolve as <config dir>/<secret>: its error (shown
// by riposte doctor, and by every action as its activity error, in history
// and logs) and the reference's String, JSON and log value must not print
// it; a real path is still printed.
func TestSecretRefFileNeverPrintsAPastedSecret(t *testing.T) {
	const secret = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
	ref := SecretRef{File: "/etc/riposte/" + secret}
	_, err := ref.Resolve()
	if err == nil || !errors.Is(err, ErrSecretUnavailable) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Resolve: %v", err)
	}
	js, _ := ref.MarshalJSON()
	for what, s := range map[string]string{"Resolve": err.Error(), "String": ref.String(), "GoString": ref.GoString(), "JSON": string(js), "LogValue": ref.LogValue().String()} {
		if strings.Contains(s, secret) {
			t.Errorf("%s prints the pasted secret: %s", what, s)
		}
	}
	real := SecretRef{File: "/run/secrets/riposte-test-missing"}
	if _, err := real.Resolve(); err == nil || !strings.Contains(err.Error(), "file /run/secrets/riposte-test-missing does not exist") {
		t.Errorf("a real path is no longer named: %v", err)
	}
	if real.String() != "file:/run/secrets/riposte-test-missing" {
		t.Errorf("String() = %q", real.String())
	}
}
