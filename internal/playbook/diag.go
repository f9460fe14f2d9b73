package playbook

import "github.com/riposte-dev/riposte/internal/yamlx"

// Diagnostic is one problem found in a playbook, with its position (the
// one diagnostic type of every YAML decoder, see internal/yamlx).
type Diagnostic = yamlx.Diagnostic

// Diagnostics is a list of problems; as an error it prints one per line.
type Diagnostics = yamlx.Diagnostics

// didYouMean suggests the closest candidate, if one is close enough.
func didYouMean(got string, candidates []string) string {
	return yamlx.DidYouMean(got, candidates)
}
