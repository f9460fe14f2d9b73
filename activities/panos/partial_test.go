package panos_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities/panos"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// A block that acted on one firewall of two and then failed says it is
// partially applied, so the step keeps its budget slot (a retry applies
// the rest): the failure is not taken for "nothing was sent".
func TestBlockIPPartiallyApplied(t *testing.T) {
	h := connectortest.New(t)
	labConn(h, lab.Fake[*panos.Fake](h.Lab).PanoramaURL(), panos.PanoramaSerials[0]+", 000000000000")
	_, err := h.Run("panos.block_ip", map[string]any{"ip": "203.0.113.77"}, "k1")
	tags := lab.Fake[*panos.Fake](h.Lab).PanoramaRegistered(panos.PanoramaSerials[0], "203.0.113.77")
	if err == nil || !slices.Contains(tags, "riposte-blocked") {
		t.Fatalf("err %v, tags %v: want a failure after the first firewall blocked", err, tags)
	}
	if !strings.Contains(err.Error(), catalog.PartiallyApplied+": done on firewall "+panos.PanoramaSerials[0]) {
		t.Errorf("err = %v, want it to say the block is partially applied", err)
	}
}
