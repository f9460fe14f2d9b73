package signing

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"

	"github.com/riposte-dev/riposte/internal/codec"
)

// After a rotation (docs/operations.md: make k2 active, keep k1 so old
// histories still decrypt, remove it only after the retention), k1 is a
// "decrypt only" key (internal/codec), yet the decision key derived from it
// kept signing: a seal made today with k1 verified like one made with k2,
// so a team rotating because k1 leaked kept accepting approvals forged with
// it for as long as it had to keep k1 to read its histories. A key the key
// file marks retired ("retired": {"k1": "<RFC 3339>"}) still decrypts, and
// its seals still verify (replays of runs that accepted them), but one that
// reaches a run after that time is refused (Retired), whatever date it
// bears: its holder writes the date.
func TestSealOfRetiredKeyMadeAfterRotationIsRefused(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, codec.KeySize), bytes.Repeat([]byte{2}, codec.KeySize)
	before, err := codec.NewKeyring("k1", map[string][]byte{"k1": k1})
	if err != nil {
		t.Fatal(err)
	}
	retiredAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	file := `{"active": "k2", "keys": {"k1": "` + base64.StdEncoding.EncodeToString(k1) + `", "k2": "` + base64.StdEncoding.EncodeToString(k2) +
		`"}, "retired": {"k1": "` + retiredAt.Format(time.RFC3339) + `"}}`
	after, err := codec.ParseKeyring([]byte(file), "test key file")
	if err != nil {
		t.Fatal(err)
	}
	c := Claim{Kind: KindDecide, Run: "wf-1", Gate: "isolate", Decision: "approve", Identity: "U0SOCLEAD1", Channel: "api"}

	// Whoever kept a copy of the retired k1 signs a fresh approval.
	forged := FromCodec(before).Sign(c, time.Now())
	if err := Fresh(forged, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := FromCodec(after).Verify(c, forged); err != nil {
		t.Fatalf("k1's seal no longer verifies: %v", err)
	}
	if err := FromCodec(after).Retired(forged, time.Now()); !errors.Is(err, ErrForged) || !strings.Contains(err.Error(), "retired") {
		t.Errorf("a seal of k1 received after its retirement: err = %v, want ErrForged saying the key is retired", err)
	}
	// Dated before the retirement by whoever holds k1: judged by receipt.
	backdated := FromCodec(before).Sign(c, retiredAt.Add(-time.Second))
	if err := FromCodec(after).Retired(backdated, time.Now()); !errors.Is(err, ErrForged) {
		t.Errorf("a backdated seal of k1 received after its retirement: err = %v, want ErrForged", err)
	}
	// A seal k1 made and received before its retirement (a decision a run
	// accepted, replayed from its history) still passes.
	old := FromCodec(before).Sign(c, retiredAt.Add(-time.Hour))
	if err := FromCodec(after).Retired(old, retiredAt.Add(-time.Minute)); err != nil {
		t.Errorf("a seal of k1 received before its retirement: %v", err)
	}
	// k2 signs as usual; and k1 still decrypts.
	if s := FromCodec(after).Sign(c, time.Now()); FromCodec(after).Verify(c, s) != nil || FromCodec(after).Retired(s, time.Now()) != nil {
		t.Error("a seal of the active k2 is refused")
	}
	enc, err := codec.NewCodec(before).Encode([]*commonpb.Payload{{Data: []byte("old history")}})
	if err != nil {
		t.Fatal(err)
	}
	if dec, err := codec.NewCodec(after).Decode(enc); err != nil || string(dec[0].GetData()) != "old history" {
		t.Errorf("the retired k1 no longer decrypts: %v", err)
	}

	// The file's "retired" is checked: only old keys, RFC 3339 times.
	for _, bad := range []string{
		`{"active": "k2", "keys": {"k2": "` + base64.StdEncoding.EncodeToString(k2) + `"}, "retired": {"k2": "2026-12-06T10:00:00Z"}}`,
		`{"active": "k2", "keys": {"k2": "` + base64.StdEncoding.EncodeToString(k2) + `"}, "retired": {"k9": "2026-12-06T10:00:00Z"}}`,
		`{"active": "k2", "keys": {"k1": "` + base64.StdEncoding.EncodeToString(k1) + `", "k2": "` + base64.StdEncoding.EncodeToString(k2) + `"}, "retired": {"k1": "yesterday"}}`,
	} {
		if _, err := codec.ParseKeyring([]byte(bad), "bad"); !errors.Is(err, codec.ErrInvalidKeyring) {
			t.Errorf("%s: err = %v, want ErrInvalidKeyring", bad, err)
		}
	}
}
