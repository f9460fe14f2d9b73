// Package yamlx is the one place for what every YAML decoder of Riposte
// shares: positioned diagnostics with a caret snippet, reading one document
// within a size and an alias-expansion budget, node helpers (Resolve,
// KindName, mapping entries), the column of a character inside a scalar
// checked against the source (ValueColumn, used by NonASCII and the
// policy's look-alike warning) and did-you-mean suggestions. Each decoder
// (playbooks, playbook tests, riposte.yaml, policy.yaml) keeps only its own
// schema.
package yamlx

import (
	"fmt"
	"sort"
	"strings"
)

// Severity tells an error (the input is refused) from a warning.
type Severity string

// Severities. A Diagnostic with no severity is an error.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Diagnostic is one problem found in a YAML file, with its position:
// 1-based line and column (columns count runes, as yaml.v3 does).
type Diagnostic struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Severity Severity `json:"severity,omitempty"`
	Message  string   `json:"message"`
	// Snippet shows the source line with a caret under Col, expr-style:
	//
	//	 | version: one
	//	 | .........^
	Snippet string `json:"snippet,omitempty"`
}

// IsWarning reports whether d is only a warning.
func (d Diagnostic) IsWarning() bool { return d.Severity == SeverityWarning }

// String is "file:line:col: message" (warnings say so after the position).
func (d Diagnostic) String() string {
	if d.IsWarning() {
		return fmt.Sprintf("%s:%d:%d: warning: %s", d.File, d.Line, d.Col, d.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Line, d.Col, d.Message)
}

// Pretty is String followed by the caret snippet, when there is one.
func (d Diagnostic) Pretty() string {
	if d.Snippet == "" {
		return d.String()
	}
	return d.String() + "\n" + d.Snippet
}

// Diagnostics is a list of problems; as an error it prints one per line.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Errors returns the diagnostics that are not warnings.
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if !d.IsWarning() {
			out = append(out, d)
		}
	}
	return out
}

// Warnings returns the warnings.
func (ds Diagnostics) Warnings() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.IsWarning() {
			out = append(out, d)
		}
	}
	return out
}

// Err returns the errors (not the warnings) as an error, or nil.
func (ds Diagnostics) Err() error {
	if errs := ds.Errors(); len(errs) > 0 {
		return errs
	}
	return nil
}

// Sort orders diagnostics by file, line and column (stable otherwise), and
// drops exact repeats.
func (ds Diagnostics) Sort() Diagnostics {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	out := ds[:0]
	for i, d := range ds {
		if i > 0 && d == ds[i-1] {
			continue
		}
		out = append(out, d)
	}
	return out
}

// bom is the UTF-8 byte order mark some editors start a file with.
const bom = "\ufeff"

// maxSnippetRunes bounds the source line a snippet shows, so that a
// diagnostic on a megabyte-long line stays readable.
const maxSnippetRunes = 120

// Snippet renders line of src with a caret under col, the way expr shows
// where an expression is wrong. It is empty when the position is not in src.
func Snippet(src []byte, line, col int) string {
	if line < 1 || col < 1 || len(src) == 0 {
		return ""
	}
	start := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(string(src[start:]), '\n')
		if i < 0 {
			return ""
		}
		start += i + 1
	}
	end := len(src)
	if i := strings.IndexByte(string(src[start:]), '\n'); i >= 0 {
		end = start + i
	}
	line1 := string(src[start:end])
	if start == 0 {
		// yaml.v3 reads a byte order mark as no column.
		line1 = strings.TrimPrefix(line1, bom)
	}
	text := []rune(strings.TrimSuffix(line1, "\r"))
	if col > len(text)+1 {
		return ""
	}
	// Keep the caret in view on long lines.
	from := 0
	if col-1 > maxSnippetRunes-20 {
		from = col - 1 - (maxSnippetRunes - 20)
	}
	to := min(len(text), from+maxSnippetRunes)
	shown := text[from:to]
	for i, r := range shown {
		if r == '\t' || r < ' ' || r == 0x7f {
			shown[i] = ' ' // one column each, and no terminal control
		}
	}
	prefix, dots := "", col-1-from
	if from > 0 {
		prefix, dots = "…", dots+1
	}
	return " | " + prefix + string(shown) + "\n | " + strings.Repeat(".", dots) + "^"
}
