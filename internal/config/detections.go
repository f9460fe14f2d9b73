package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/internal/finding"
	"github.com/riposte-dev/riposte/internal/safefile"
	"github.com/riposte-dev/riposte/internal/yamlx"
)

// LoadDetections reads the `detections:` section of a riposte.yaml: the
// settings of the normalized finding view. A missing section gives
// [finding.DefaultConfig].
//
//	detections:
//	  confidence_ids: {1: 25, 2: 50, 3: 85}   # OCSF confidence_id -> 0-100
//	  internal_networks: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7]
func LoadDetections(path string) (finding.Config, Diagnostics, error) {
	src, err := safefile.ReadFile(path, safefile.MaxSize)
	if err != nil {
		return finding.DefaultConfig(), nil, fmt.Errorf("reading detection settings: %w", err)
	}
	cfg, diags := ParseDetections(path, src)
	return cfg, diags, diags.Err()
}

// ParseDetections checks the `detections:` section of riposte.yaml source.
// Syntax and budget errors of the file are ParseConnections' to report.
func ParseDetections(file string, src []byte) (finding.Config, Diagnostics) {
	cfg := finding.DefaultConfig()
	p := &connParser{Reporter: &yamlx.Reporter{File: file, Src: src}, file: file}
	var quiet yamlx.Reporter // syntax and budget errors are reported by ParseConnections
	root, ok := yamlx.Decode(&quiet, src, yamlx.Options{MaxBytes: MaxConfigBytes})
	if !ok || root == nil {
		return cfg, nil
	}
	// Positions are those of the source as Decode read it (a lone CR as
	// a line end).
	p.Reporter.Src = quiet.Src
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		return cfg, nil
	}
	read := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "detections":
			if !read { // the first (ParseConnections reports a duplicate)
				p.detections(deref(root.Content[i+1]), &cfg)
				read = true
			}
		case "connections":
			// Nothing of it belongs in a detections diagnostic, and a
			// line may hold both (flow style, JSON on one line): hide
			// every value, a secret under a misspelt key (which only
			// ParseConnections knows for one) included.
			p.hideAll(root.Content[i+1])
		}
	}
	// A line may write a secret too (riposte.yaml in flow style, or as
	// JSON on one line): its snippet hides it, as ParseConnections'.
	p.maskSnippets()
	return cfg, p.Diags.Sort()
}

// detectionKeys are the keys of the detections: section.
var detectionKeys = []string{"confidence_ids", "internal_networks"}

// detections checks the detections: section n into cfg. Both parsers of
// riposte.yaml call it: ParseDetections for serve, ParseConnections so
// that every reader of the file (worker, connections check, doctor)
// reports the section's problems too.
func (p *connParser) detections(n *yaml.Node, cfg *finding.Config) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	// Mapping refuses a non-mapping and duplicate keys, with positions.
	entries, ok := p.Mapping(n, "detections")
	if !ok {
		return
	}
	for _, e := range entries {
		k, v := e.Key, deref(e.Value)
		switch k.Value {
		case "confidence_ids":
			if v.Kind != yaml.MappingNode {
				p.errorf(v, "detections.confidence_ids must map OCSF confidence_id (1 Low, 2 Medium, 3 High, 99 Other) to 0-100, got %s", kindName(v))
				continue
			}
			m := map[int]int{}
			for x := 0; x+1 < len(v.Content); x += 2 {
				id, err1 := strconv.Atoi(v.Content[x].Value)
				c, err2 := strconv.Atoi(v.Content[x+1].Value)
				switch {
				case err1 != nil || id < 0:
					p.errorf(v.Content[x], "detections.confidence_ids: key %q is not an OCSF confidence_id (1 Low, 2 Medium, 3 High, 99 Other)", v.Content[x].Value)
				case err2 != nil || c < 0 || c > 100:
					p.errorf(v.Content[x+1], "detections.confidence_ids.%d: must be an integer between 0 and 100, got %q", id, v.Content[x+1].Value)
				default:
					m[id] = c
				}
			}
			cfg.ConfidenceIDs = m
		case "internal_networks":
			if v.Kind != yaml.SequenceNode {
				p.errorf(v, "detections.internal_networks must be a list of CIDRs, got %s", kindName(v))
				continue
			}
			var nets []netip.Prefix
			for x, e := range v.Content {
				pfx, err := netip.ParsePrefix(e.Value)
				if err != nil {
					p.errorf(e, "detections.internal_networks[%d]: %q is not a CIDR (like 10.0.0.0/8)", x, e.Value)
					continue
				}
				nets = append(nets, pfx.Masked())
			}
			cfg.InternalNetworks = nets
		default:
			// An error, not a warning: a misspelt setting would silently
			// leave the default in force (confidence_id for confidence_ids
			// keeps the default mapping).
			p.errorf(k, "unknown key detections.%s%s (known: %s)", k.Value, didYouMean(k.Value, detectionKeys), strings.Join(detectionKeys, ", "))
		}
	}
}
