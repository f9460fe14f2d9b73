package panos_test

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities/panos"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// A block that failed on one firewall after finding the IP already
// blocked on the others changed nothing, yet its error said "partially
// applied: done on firewall …". Since a rollback undoes a partially
// applied call (rollback-partly-applied), riposte rollback then lifted
// the block someone else had put in place on those firewalls, though
// README says containment a step found already in place is left by a
// rollback; and the step kept a budget slot for nothing. On its first
// attempt such a call does not say partially applied.
func TestBlockIPFailedAfterOnlyExistingBlocksIsNotPartial(t *testing.T) {
	h := connectortest.New(t)
	fake := lab.Fake[*panos.Fake](h.Lab)
	// An analyst's block on the first firewall.
	analystBlock(h)
	labConn(h, fake.PanoramaURL(), panos.PanoramaSerials[0]+", 000000000000")
	_, err := h.Run("panos.block_ip", map[string]any{"ip": "203.0.113.77"}, "k1")
	if err == nil {
		t.Fatal("want a failure on the second firewall")
	}
	if strings.Contains(err.Error(), catalog.PartiallyApplied) {
		t.Errorf("err = %v: the call found the block in place on %s and acted nowhere, yet says it is partially applied (a rollback would lift the analyst's block)", err, panos.PanoramaSerials[0])
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], "203.0.113.77"); len(tags) != 1 {
		t.Errorf("tags %v", tags)
	}
}
