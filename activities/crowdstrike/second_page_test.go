package crowdstrike_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities/crowdstrike"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// QueryDevicesByFilter pages by limit and offset (meta.pagination.total
// over every page). The lookup asks 500 ids a page, so the scenarios of
// TestContainPicksLiveDeviceBeyondFirstPage and
// TestContainFindsExactNameAmongPrefixMatches (written for the API's
// default page of 100) now fit on one page, and a lookup reading page 1
// only passed them. Here 520 names starting with db-prod-02, all seen
// after db-prod-02 itself, push its AID to page 2 sorted by last_seen:
// reading one page reports the host unknown and contains nothing.
func TestContainReadsTheSecondPageOfTheQuery(t *testing.T) {
	h := connectortest.New(t)
	fk := lab.Fake[*crowdstrike.Fake](h.Lab)
	for i := 0; i < 520; i++ {
		fk.AddDevice(fmt.Sprintf("db-prod-02%d", i), time.Now())
	}
	out, err := h.Run("crowdstrike.contain_host", map[string]any{"hostname": "db-prod-02"}, "k1")
	if err != nil {
		t.Fatalf("contain: %v", err)
	}
	if got := containStatus(h, "db-prod-02"); got != "contained" || fk.ExtraActions() != 0 || fmt.Sprint(out["matches"]) != "1" {
		t.Errorf("db-prod-02 is %q, %d actions reached other hosts, output %v", got, fk.ExtraActions(), out)
	}
	if q, _, failed := lookups(h); q != 2 || failed != 0 {
		t.Errorf("lookup: %d queries (%d failed), want 2 pages", q, failed)
	}
}
