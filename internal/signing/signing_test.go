package signing

import (
	"errors"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	k, err := NewKeys("k1", map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewKeys("k1", map[string][]byte{"k1": []byte("another key of 32 bytes........!")})
	c := Claim{Kind: KindDecide, Run: "wf-1", Gate: "isolate", Decision: "approve", Identity: "U1", Channel: "api"}
	at := time.Date(2026, 12, 4, 1, 2, 3, 456789, time.UTC)
	s := k.Sign(c, at)
	if err := k.Verify(c, s); err != nil {
		t.Fatalf("valid seal refused: %v", err)
	}
	// Every field is covered.
	for name, mut := range map[string]func(*Claim){
		"kind": func(c *Claim) { c.Kind = KindExtend }, "run": func(c *Claim) { c.Run = "wf-2" },
		"gate": func(c *Claim) { c.Gate = "notify" }, "decision": func(c *Claim) { c.Decision = "deny" },
		"identity": func(c *Claim) { c.Identity = "U2" }, "channel": func(c *Claim) { c.Channel = "slack" },
		"reason": func(c *Claim) { c.Reason = "x" }, "message": func(c *Claim) { c.MessageTS = "1.2" },
		"boundary": func(c *Claim) { c.Run, c.Gate = "wf-1i", "solate" },
	} {
		c2 := c
		mut(&c2)
		if err := k.Verify(c2, s); !errors.Is(err, ErrForged) {
			t.Errorf("%s changed: want ErrForged, got %v", name, err)
		}
	}
	s2 := *s
	s2.At = s.At.Add(time.Second)
	if err := k.Verify(c, &s2); !errors.Is(err, ErrForged) {
		t.Errorf("time changed: want ErrForged, got %v", err)
	}
	if err := other.Verify(c, s); !errors.Is(err, ErrForged) {
		t.Errorf("other key: want ErrForged, got %v", err)
	}
	if err := k.Verify(c, nil); !errors.Is(err, ErrUnsigned) {
		t.Errorf("no seal: want ErrUnsigned, got %v", err)
	}
	var none *Keys
	if err := none.Verify(c, s); !errors.Is(err, ErrForged) {
		t.Errorf("no keys: want refusal, got %v", err)
	}
	s3 := *s
	s3.KeyID = "k9"
	if err := k.Verify(c, &s3); !errors.Is(err, ErrForged) {
		t.Errorf("unknown key id: want ErrForged, got %v", err)
	}
}

// A seal is fresh within MaxAge of the checker's clock, either way.
func TestFresh(t *testing.T) {
	at := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)
	s := &Seal{KeyID: "k1", At: at, MAC: "x"}
	for _, tc := range []struct {
		now  time.Duration
		want error
	}{
		{0, nil}, {MaxAge, nil}, {-MaxAge, nil},
		{MaxAge + time.Second, ErrStale}, {-MaxAge - time.Second, ErrStale}, {72 * time.Hour, ErrStale},
	} {
		err := Fresh(s, at.Add(tc.now))
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("seal at %s checked %s later: %v, want %v", at, tc.now, err, tc.want)
		}
	}
	if err := Fresh(nil, at); err != nil {
		t.Errorf("nil seal: %v (Verify refuses it)", err)
	}
}
