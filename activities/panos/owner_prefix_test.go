package panos_test

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities/panos"
	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// A block whose tag is named riposte.X registers what the undo of a block
// with tag X takes for its owner tag: refused, from the step's tag or the
// connection's (a connection not loaded from riposte.yaml, which refuses
// it earlier), before anything is sent.
func TestBlockWithTheOwnerTagPrefixIsRefused(t *testing.T) {
	h := connectortest.New(t)
	fake := lab.Fake[*panos.Fake](h.Lab)
	labConn(h, fake.PanoramaURL(), panos.PanoramaSerials[0])
	_, err := h.Run("panos.block_ip", map[string]any{"ip": blockedIP, "tag": "riposte.riposte-blocked"}, "k1")
	if ae := connectortest.AppError(t, err); ae.Type() != "InvalidParams" || !strings.Contains(err.Error(), `"riposte."`) {
		t.Errorf("step tag riposte.riposte-blocked: err %v, want InvalidParams naming the prefix", err)
	}
	c := h.Env.Connections["panos"]
	c.Options["tag"] = "riposte.blocked"
	h.Env.Connections["panos"] = c
	_, err = h.Run("panos.block_ip", map[string]any{"ip": blockedIP}, "k2")
	if ae := connectortest.AppError(t, err); ae.Type() != "InvalidParams" || !strings.Contains(err.Error(), `"riposte."`) {
		t.Errorf("connection tag riposte.blocked: err %v, want InvalidParams naming the prefix", err)
	}
	if tags := fake.PanoramaRegistered(panos.PanoramaSerials[0], blockedIP); len(tags) != 0 {
		t.Errorf("tags %v: want nothing registered", tags)
	}
}
