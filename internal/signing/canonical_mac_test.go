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
