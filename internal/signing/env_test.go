package signing

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/codec"
)

// RIPOSTE_DECISION_KEY_FILE (a codec key file) or RIPOSTE_DECISION_KEYS
// (the same JSON) give the decision key (README, Production): a seal made
// by a process holding one verifies in a process holding the other, and
// neither is the key derived from the codec keys; a bad value is an error
// naming the variable.
func TestDecisionKeyFromEnv(t *testing.T) {
	ring := `{"active":"d1","keys":{"d1":"` + base64.StdEncoding.EncodeToString([]byte("decision key of 32 bytes.......!")) + `"}}`
	file := filepath.Join(t.TempDir(), "decision-keys.json")
	if err := os.WriteFile(file, []byte(ring), 0o600); err != nil {
		t.Fatal(err)
	}
	load := func(keyFile, keys string) (*Keys, bool, error) {
		t.Setenv(EnvKeyFile, keyFile)
		t.Setenv(EnvKeys, keys)
		return FromEnv()
	}
	if _, ok, err := load("", ""); ok || err != nil {
		t.Fatalf("neither set: ok %v, %v", ok, err)
	}
	fromFile, ok, err := load(file, "")
	if !ok || err != nil {
		t.Fatalf("%s: ok %v, %v", EnvKeyFile, ok, err)
	}
	fromVar, ok, err := load("", ring)
	if !ok || err != nil {
		t.Fatalf("%s: ok %v, %v", EnvKeys, ok, err)
	}
	c := Claim{Kind: KindDecide, Run: "wf-1", Gate: "isolate", Decision: "approve", Identity: "U1", Channel: "api"}
	at := time.Now()
	if err := fromVar.Verify(c, fromFile.Sign(c, at)); err != nil {
		t.Errorf("a seal of the key file does not verify with the same keys from the variable: %v", err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.Split(strings.Split(ring, `"d1":"`)[1], `"`)[0])
	codecRing, err := codec.NewKeyring("d1", map[string][]byte{"d1": raw})
	if err != nil {
		t.Fatal(err)
	}
	if err := FromCodec(codecRing).Verify(c, fromFile.Sign(c, at)); err != nil {
		t.Errorf("the decision key is not derived as documented: %v", err)
	}
	if err := (&Keys{active: "d1", keys: map[string][]byte{"d1": raw}}).Verify(c, fromFile.Sign(c, at)); err == nil {
		t.Error("the decision key is the raw key, not one derived from it (a codec key must not sign decisions)")
	}
	if _, ok, err := load("", `{"active":"x"}`); !ok || err == nil || !strings.Contains(err.Error(), EnvKeys) {
		t.Errorf("bad %s: ok %v, %v", EnvKeys, ok, err)
	}
	if _, ok, err := load(filepath.Join(t.TempDir(), "missing.json"), ""); !ok || err == nil {
		t.Errorf("missing %s: ok %v, %v", EnvKeyFile, ok, err)
	}
}

// Setting both variables is an error, as for the codec's
// RIPOSTE_CODEC_KEY_FILE and RIPOSTE_CODEC_KEYS: silently using one would
// leave a process sealing with a key its peers (configured through the
// other) do not hold, and every decision would be refused as forged.
func TestDecisionKeyFromEnvBothSet(t *testing.T) {
	ring := func(b byte) string {
		return `{"active":"d1","keys":{"d1":"` + base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(rune('a'+b)), 32))) + `"}}`
	}
	file := filepath.Join(t.TempDir(), "decision-keys.json")
	if err := os.WriteFile(file, []byte(ring(0)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvKeyFile, file)
	t.Setenv(EnvKeys, ring(1))
	k, ok, err := FromEnv()
	if !ok || err == nil || !strings.Contains(err.Error(), EnvKeyFile) || !strings.Contains(err.Error(), EnvKeys) {
		t.Fatalf("both %s and %s set: keys %v, ok %v, err %v; want an error naming both", EnvKeyFile, EnvKeys, k.KeyIDs(), ok, err)
	}
}
