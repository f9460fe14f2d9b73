package config

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseDetections(t *testing.T) {
	src := `connections: {}
detections:
  confidence_ids: {1: 20, 2: 55, 3: 90, 99: 50}
  internal_networks: [10.0.0.0/8, 100.64.0.0/10, "fd00::/8"]
`
	cfg, diags := ParseDetections("riposte.yaml", []byte(src))
	if len(diags) != 0 {
		t.Fatalf("diags: %v", diags)
	}
	if cfg.ConfidenceIDs[3] != 90 || cfg.ConfidenceIDs[99] != 50 || len(cfg.ConfidenceIDs) != 4 {
		t.Errorf("confidence ids %v", cfg.ConfidenceIDs)
	}
	if len(cfg.InternalNetworks) != 3 || cfg.InternalNetworks[1] != netip.MustParsePrefix("100.64.0.0/10") {
		t.Errorf("networks %v", cfg.InternalNetworks)
	}
	// Without the section: the defaults (Low 25, Medium 50, High 85; RFC 1918 + ULA).
	cfg, _ = ParseDetections("riposte.yaml", []byte("connections: {}\n"))
	if cfg.ConfidenceIDs[1] != 25 || cfg.ConfidenceIDs[2] != 50 || cfg.ConfidenceIDs[3] != 85 || len(cfg.InternalNetworks) != 4 {
		t.Errorf("defaults %+v", cfg)
	}
	// The connections parser knows the section (no unknown-key warning).
	if _, d := ParseConnections("riposte.yaml", []byte(src), ConnectionsOptions{}); len(d) != 0 {
		t.Errorf("connections parser: %v", d)
	}
}

func TestParseDetectionsErrors(t *testing.T) {
	src := `detections:
  confidence_ids: {1: 200, high: 80}
  internal_networks: [10.0.0.0/33]
  internal_network: []
  internal_networks: [10.0.0.0/8]
`
	_, diags := ParseDetections("riposte.yaml", []byte(src))
	var lines []string
	for _, d := range diags {
		lines = append(lines, d.String())
	}
	got := strings.Join(lines, "\n")
	for _, want := range []string{
		"riposte.yaml:2:23: detections.confidence_ids.1: must be an integer between 0 and 100",
		`riposte.yaml:2:28: detections.confidence_ids: key "high" is not an OCSF confidence_id`,
		`riposte.yaml:3:23: detections.internal_networks[0]: "10.0.0.0/33" is not a CIDR`,
		`riposte.yaml:4:3: unknown key detections.internal_network (did you mean "internal_networks"?)`,
		`riposte.yaml:5:3: detections: duplicate key "internal_networks" (first on line 3)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if diags.Err() == nil {
		t.Error("errors not reported as errors")
	}
}

// A misspelt key of detections: is an error (the default mapping would
// silently stay), reported with its position and a suggestion by serve's
// parser and by the parser every other reader of riposte.yaml uses.
func TestDetectionsUnknownKeyIsAnError(t *testing.T) {
	src := "connections: {}\ndetections:\n  confidence_id: {1: 10}\n"
	want := `riposte.yaml:3:3: unknown key detections.confidence_id (did you mean "confidence_ids"?)`
	_, diags := ParseDetections("riposte.yaml", []byte(src))
	if err := diags.Err(); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ParseDetections: %v, want the error %q", diags, want)
	}
	_, diags = ParseConnections("riposte.yaml", []byte(src), ConnectionsOptions{})
	if err := diags.Err(); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ParseConnections: %v, want the error %q", diags, want)
	}
}

// RequireConnections: a file without a connections: key is an error, at
// the misspelt key when there is one.
func TestRequireConnections(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"conections:\n  cs: {type: crowdstrike}\n", `r.yaml:1:1: r.yaml has no connections: key (is "conections" a misspelling of connections?)`},
		{"detections: {}\n", "r.yaml:1:1: r.yaml has no connections: key: no connections to check"},
		{"# nothing\n", "r.yaml:1:1: r.yaml has no connections: key (it is empty)"},
	} {
		_, diags := ParseConnections("r.yaml", []byte(tc.src), ConnectionsOptions{RequireConnections: true})
		if err := diags.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.src, diags, tc.want)
		}
		if _, diags := ParseConnections("r.yaml", []byte(tc.src), ConnectionsOptions{}); diags.Err() != nil {
			t.Errorf("%q without RequireConnections: %v", tc.src, diags)
		}
	}
	if _, diags := ParseConnections("r.yaml", []byte("connections: {}\n"), ConnectionsOptions{RequireConnections: true}); len(diags) != 0 {
		t.Errorf("connections: {} is a connections key: %v", diags)
	}
}

func TestParseDetectionsNotAMapping(t *testing.T) {
	_, diags := ParseDetections("riposte.yaml", []byte("detections: [10.0.0.0/8]\n"))
	if got := diags.Error(); !strings.Contains(got, "riposte.yaml:1:13: detections must be a mapping, got a list") {
		t.Errorf("diagnostics: %s", got)
	}
}
