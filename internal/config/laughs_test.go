package config

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/yamlx"
)

// TestBillionLaughs: riposte.yaml (its connections and detections sections)
// refuses an alias bomb with a positioned error instead of expanding it.
func TestBillionLaughs(t *testing.T) {
	src := []byte("connections:\n  okta:\n    type: okta\n" + yamlx.BillionLaughs("detections", 0))
	_, diags := ParseConnections("riposte.yaml", src, ConnectionsOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "aliases expand the document to more than") || diags[0].Line < 5 {
		t.Fatalf("connections: %v", diags)
	}
	if !strings.HasPrefix(diags.Error(), "riposte.yaml:") {
		t.Errorf("no position: %v", diags)
	}
	// ParseDetections leaves the report to ParseConnections, and falls back
	// to the defaults without expanding anything.
	cfg, ddiags := ParseDetections("riposte.yaml", src)
	if len(ddiags) != 0 || len(cfg.InternalNetworks) == 0 {
		t.Errorf("detections: %v %+v", ddiags, cfg)
	}
}
