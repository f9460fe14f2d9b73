package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/playbook"
)

const validateUsage = `Usage: riposte validate [--format text|json] [PATH...]

Validates playbooks (files, or directories walked for *.yaml / *.yml; test
files NAME.test.yaml are skipped, also when named, as in playbooks/*.yaml). Every problem of every file is reported at
once as file:line:col: message, followed by the source line with a caret
under the position. Exit 0 when all are valid, 1 otherwise (also when the
PATHs hold no playbook at all).
PATH defaults to ./playbooks.`

func validateCommand() command {
	return command{name: "validate", summary: "Check playbooks and report every problem with its position", usage: validateUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			fs := newFlagSet("validate", validateUsage, s)
			format := fs.String("format", "text", "output format: text or json")
			paths, code, ok := parseArgs(fs, args)
			if !ok {
				return code
			}
			if *format != "text" && *format != "json" {
				fmt.Fprintf(s.Err, "riposte validate: --format must be text or json, got %q\n", *format)
				return 2
			}
			if len(paths) == 0 {
				paths = []string{"playbooks"}
			}
			set, files, diags := playbook.Load(paths, activities.Catalog())
			if len(diags) == 0 && (set == nil || len(set.Playbooks) == 0) {
				// Nothing to validate is a mistake (a wrong path, a misspelt
				// directory), not a pass: CI would go green on it.
				for _, p := range paths {
					diags = append(diags, playbook.Diagnostic{File: p, Line: 1, Col: 1,
						Message: "no playbooks here (files *.yaml or *.yml; NAME.test.yaml are playbook tests, not playbooks)"})
				}
			}
			if *format == "json" {
				out := struct {
					Valid       bool                  `json:"valid"`
					Files       int                   `json:"files"`
					Playbooks   []string              `json:"playbooks"`
					Diagnostics []playbook.Diagnostic `json:"diagnostics"`
				}{Valid: len(diags) == 0, Files: files, Playbooks: []string{}, Diagnostics: diags}
				if out.Diagnostics == nil {
					out.Diagnostics = []playbook.Diagnostic{}
				}
				if set != nil {
					for _, c := range set.Playbooks {
						out.Playbooks = append(out.Playbooks, c.Playbook.Name)
					}
				}
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				_ = enc.Encode(out)
			} else {
				for _, d := range diags {
					// One diagnostic per line (file:line:col: message), whatever
					// its message holds, so the summary never lands on the last
					// one's line; the caret snippet follows, indented.
					msg := strings.TrimRight(d.String(), " \t\r\n")
					if d.Snippet != "" {
						msg += "\n" + d.Snippet
					}
					fmt.Fprint(s.Out, strings.ReplaceAll(msg, "\n", "\n  ")+"\n")
				}
				if len(diags) == 0 {
					fmt.Fprintf(s.Out, "ok: %d playbook%s valid (%d file%s)\n", len(set.Playbooks), plural(len(set.Playbooks)), files, plural(files))
				} else {
					bad := map[string]bool{}
					for _, d := range diags {
						bad[d.File] = true
					}
					if files == 0 {
						// The paths themselves are the problem (missing, empty).
						fmt.Fprintf(s.Err, "%d problem%s, no playbook read\n", len(diags), plural(len(diags)))
					} else {
						fmt.Fprintf(s.Err, "%d problem%s in %d of %d file%s\n", len(diags), plural(len(diags)), len(bad), files, plural(files))
					}
				}
			}
			if len(diags) > 0 {
				return 1
			}
			return 0
		}}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
