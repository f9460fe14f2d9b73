package config

import (
	"strings"
	"testing"
)

// riposte.yaml as JSON on one line, a connection's secret under a key the
// parser does not know as a secret field (misspelt, "api_tokn"; or any
// field of a connection whose type is misspelt): ParseConnections hides
// such values on every snippet of their line (hideAll), but
// ParseDetections (serve's and riposte test's reader of the detections
// section) hid only the values of correctly spelt secret fields, so an
// error in the detections section on that line printed the secret.
// Nothing under connections: belongs in a detections diagnostic.
func TestDetectionsSnippetHidesEveryConnectionValue(t *testing.T) {
	for name, src := range map[string]string{
		"misspelt secret field": `{"connections": {"j": {"type": "jira", "api_tokn": "S3cr3tT0ken"}}, "detections": {"internal_networks": ["nope"]}}`,
		"misspelt type":         `{"connections": {"j": {"type": "jirra", "token_value": "S3cr3tT0ken"}}, "detections": {"internal_networks": ["nope"]}}`,
		"flow style":            `{connections: {j: {type: jira, apitoken: S3cr3tT0ken}}, detections: {internal_networks: [nope]}}`,
	} {
		_, diags := ParseDetections("riposte.yaml", []byte(src+"\n"))
		errs := diags.Errors()
		if len(errs) != 1 {
			t.Errorf("%s: want one error, got %v", name, diags)
			continue
		}
		if p := errs[0].Pretty(); strings.Contains(p, "S3cr3t") {
			t.Errorf("%s: the detections error shows the secret:\n%s", name, p)
		}
		// ParseConnections hides it already.
		_, cd := ParseConnections("riposte.yaml", []byte(src+"\n"), testOptions(nil))
		for _, d := range cd {
			if p := d.Pretty(); strings.Contains(p, "S3cr3t") {
				t.Fatalf("%s: test set-up: ParseConnections shows it too:\n%s", name, p)
			}
		}
	}
}
