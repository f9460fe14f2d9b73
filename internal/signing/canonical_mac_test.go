package signing

import (
	"errors"
	"testing"
	"time"
)

// A seal's MAC string is the replay key of every "used once" check
// (workflows.usedSeals, the guard's UsedSeals), so one MAC must have exactly
// one accepted encoding. Non-strict base64 accepts other spellings of the
// same bytes (non-zero trailing bits, embedded \r\n).
func TestMACEncodingIsCanonical(t *testing.T) {
	k, err := NewKeys("k1", map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	c := Claim{Kind: KindExtend, Run: "wf-1", Gate: "isolate", Decision: "3600000000000", Identity: "U1", Channel: "api"}
	s := k.Sign(c, time.Date(2026, 12, 4, 1, 2, 3, 0, time.UTC))
	last := s.MAC[len(s.MAC)-1]
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	idx := 0
	for i := range alpha {
		if alpha[i] == last {
			idx = i
		}
	}
	variants := []string{
		s.MAC[:len(s.MAC)-1] + string(alpha[idx^1]), // flip an unused trailing bit
		s.MAC + "\n",
		s.MAC[:10] + "\r\n" + s.MAC[10:],
	}
	for _, v := range variants {
		if v == s.MAC {
			continue
		}
		s2 := *s
		s2.MAC = v
		if err := k.Verify(c, &s2); !errors.Is(err, ErrForged) {
			t.Errorf("MAC %q (a different string from the signed %q) verifies: err = %v", v, s.MAC, err)
		}
	}
}

// The credential is covered when set, and a claim without one keeps the
// MAC it had before the field existed (this vector was computed then), so
// workers of earlier releases verify seals that carry none.
func TestCredentialCoveredOnlyWhenSet(t *testing.T) {
	k, err := NewKeys("k1", map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 4, 1, 2, 3, 0, time.UTC)
	c := Claim{Kind: KindDecide, Run: "wf-1", Gate: "isolate", Decision: "approve", Identity: "U1", Channel: "api"}
	if got, want := k.Sign(c, at).MAC, "iGaCeOHW6xJEmD97rJty4fXAowmL2c3raXi3c/jiKzM"; got != want {
		t.Errorf("MAC of a claim without credential %q, want %q (the MAC before Credential existed)", got, want)
	}
	withCred := c
	withCred.Credential = "token:tok_1"
	s := k.Sign(withCred, at)
	if err := k.Verify(withCred, s); err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{"", "token:tok_2"} {
		c2 := withCred
		c2.Credential = other
		if err := k.Verify(c2, s); !errors.Is(err, ErrForged) {
			t.Errorf("seal for credential token:tok_1 verifies with %q: %v", other, err)
		}
	}
}

// The run id is covered when set; a claim without one (with or without a
// credential) keeps the MAC it had before the field existed, so workers of
// earlier releases verify seals that carry none.
func TestRunIDCoveredOnlyWhenSet(t *testing.T) {
	k, err := NewKeys("k1", map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 4, 1, 2, 3, 0, time.UTC)
	c := Claim{Kind: KindDecide, Run: "wf-1", Gate: "isolate", Decision: "approve", Identity: "U1", Channel: "api"}
	if got, want := k.Sign(c, at).MAC, "iGaCeOHW6xJEmD97rJty4fXAowmL2c3raXi3c/jiKzM"; got != want {
		t.Errorf("MAC of a claim without run id %q, want %q (the MAC before RunID existed)", got, want)
	}
	withRun := c
	withRun.Credential = "token:tok_1"
	withRun.RunID = "run-a"
	s := k.Sign(withRun, at)
	if err := k.Verify(withRun, s); err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{"", "run-b"} {
		c2 := withRun
		c2.RunID = other
		if err := k.Verify(c2, s); !errors.Is(err, ErrForged) {
			t.Errorf("seal for run run-a verifies with run %q: %v", other, err)
		}
	}
}
