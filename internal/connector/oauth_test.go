package connector

import (
	"encoding/json"
	"testing"
	"time"
)

// expires_in as vendors send it (RFC 6749 §5.1: seconds; Entra v1 sends a
// string), and as a broken or hostile token endpoint might.
func TestTokenTTL(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want time.Duration
	}{
		{`3599`, 3599 * time.Second},
		{`"3599"`, 3599 * time.Second},
		{``, 30 * time.Minute},
		{`null`, 30 * time.Minute},
		{`0`, 30 * time.Minute},
		{`-5`, 30 * time.Minute},
		{`3599.5`, 30 * time.Minute},
		{`"soon"`, 30 * time.Minute},
		{`86400`, 24 * time.Hour},
		{`86401`, 24 * time.Hour},
		{`9223372036854775807`, 24 * time.Hour}, // time.Second times this overflowed
		{`99999999999999999999999`, 24 * time.Hour},
		{`-99999999999999999999999`, 30 * time.Minute},
	} {
		if got := tokenTTL(json.RawMessage(tc.raw)); got != tc.want {
			t.Errorf("expires_in %s: %v, want %v", tc.raw, got, tc.want)
		}
	}
}
