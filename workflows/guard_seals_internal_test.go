package workflows

import (
	"testing"
	"time"

	"github.com/riposte-dev/riposte/internal/signing"
)

// The guard carries across continue-as-new only the used seals that are
// still fresh: older ones are refused by their age, so the set stays
// bounded by what can be signed within signing.MaxAge.
func TestFreshSealsDropsStaleOnes(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	used := []UsedSeal{
		{MAC: "old", At: now.Add(-signing.MaxAge - time.Second)},
		{MAC: "edge", At: now.Add(-signing.MaxAge)},
		{MAC: "new", At: now.Add(-time.Minute)},
		{MAC: "ahead", At: now.Add(time.Minute)},
	}
	got := freshSeals(used, now)
	if len(got) != 3 || got[0].MAC != "edge" || got[1].MAC != "new" || got[2].MAC != "ahead" {
		t.Errorf("kept %+v", got)
	}
	if freshSeals(nil, now) != nil {
		t.Error("nil in, non-nil out")
	}
}
