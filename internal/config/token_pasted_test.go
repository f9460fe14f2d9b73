package config

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/codec"
)

// TestSecretFilesNeverEchoAPastedSecret: the same paste as a {file:} ref in
// riposte.yaml happens with the server's secret files: the API token (or a
// codec key, the key of every history) set where its file's path belongs
// (RIPOSTE_API_TOKEN_FILE=rpt_…, RIPOSTE_CODEC_KEY_FILE=<base64 key>). The
// start failed with the os error, "open rpt_…: no such file or directory":
// the production token or the codec key on stderr and in the service's
// logs. The error must say the file does not exist without printing it.
func TestSecretFilesNeverEchoAPastedSecret(t *testing.T) {
	const token = "rpt_4f2c9e1b7a0d3e5f8a1b2c3d4e5f6a7b"
	_, err := ServeToken(token)
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("ServeToken: %v", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("ServeToken prints the pasted token: %v", err)
	}
	const key = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJ+/A="
	for _, v := range []string{key, `{"active":"k1","keys":{"k1":"` + key + `"}}`} {
		_, err = codec.LoadSecretKeyring(v)
		if err == nil {
			t.Fatalf("LoadSecretKeyring(%q) read a file", v)
		}
		if strings.Contains(err.Error(), "q83vEjRWeJ") {
			t.Errorf("LoadSecretKeyring prints the pasted key: %v", err)
		}
	}
	// A path is still named.
	if _, err := ServeToken("/run/secrets/riposte-api-token-missing"); err == nil || !strings.Contains(err.Error(), "/run/secrets/riposte-api-token-missing") {
		t.Errorf("a real path is no longer named: %v", err)
	}
}
