package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/safefile"
	"github.com/riposte-dev/riposte/internal/yamlx"
)

const validateUsage = `Usage: riposte validate [--format text|json] [--policy FILE] [PATH...]

Validates playbooks (files, or directories walked for *.yaml / *.yml; test
files NAME.test.yaml are skipped, also when named, as in playbooks/*.yaml). Every problem of every file is reported at
once as file:line:col: message, followed by the source line with a caret
under the position. Exit 0 when all are valid, 1 otherwise (also when the
PATHs hold no playbook at all).
PATH defaults to ./playbooks.

A policy.yaml or riposte.yaml among them (riposte validate . at the top of
a project) is no playbook: told by its keys (by its name when it has no
key of a playbook), it is checked as the policy, or as the configuration
with its secret references checked by their shape only (their env vars
and files are not looked up; riposte connections check does; a name or
path that reads like a secret pasted there is refused, not printed,
unless that env var is set or that file exists where validate runs).
Another tool's YAML there (a Kubernetes manifest: apiVersion not
riposte's and kind; a Compose file; a GitHub Actions workflow; keys none
of which is or resembles a playbook's) is skipped, and stderr says so,
one line each (--format json: "skipped"). A file whose apiVersion reads
riposte (misspelt too), with a key of a playbook (misspelt too), empty,
or broken YAML is a playbook, and is checked as one.

The site's policy.yaml is checked too, where the worker finds it: --policy
(env RIPOSTE_POLICY), else ./policy.yaml when there is one. Its errors count
as problems; its warnings (a protected pattern mixing look-alike letters of
Latin, Cyrillic and Greek) are shown as file:line:col: warning: message and
do not fail the check, as the worker starts with them. --policy "" checks
no policy; a --policy file that does not exist is a problem, one named
only by RIPOSTE_POLICY (the container image sets it) is not checked, and
stderr says so.`

func validateCommand() command {
	return command{name: "validate", summary: "Check playbooks and report every problem with its position", usage: validateUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			fs := newFlagSet("validate", validateUsage, s)
			format := fs.String("format", "text", "output format: text or json")
			// The worker's --policy, found as the worker finds it.
			pf := runtimeFlags{fs: fs}
			fs.StringVar(&pf.Policy, "policy", config.Env("RIPOSTE_POLICY", "policy.yaml"),
				"site guardrails file checked too, as the worker loads it (env RIPOSTE_POLICY; default ./policy.yaml when there is one; \"\" for none)")
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
			set, files, diags, site := playbook.LoadSite(paths, activities.Catalog())
			if len(diags) == 0 && (set == nil || len(set.Playbooks) == 0) {
				// Nothing to validate is a mistake (a wrong path, a misspelt
				// directory), not a pass: CI would go green on it.
				for _, p := range paths {
					diags = append(diags, playbook.Diagnostic{File: p, Line: 1, Col: 1,
						Message: "no playbooks here (files *.yaml or *.yml; NAME.test.yaml are playbook tests, not playbooks)"})
				}
			}
			pol, pdiags, notice := validatePolicy(&pf)
			fmt.Fprint(s.Err, notice)
			diags = append(diags, pdiags...)
			// policy.yaml and riposte.yaml under the PATHs (riposte
			// validate . at a project's top) are checked as what they are;
			// other tools' YAML there is skipped, one line each saying so.
			checked := 0
			type skippedFile struct {
				File  string `json:"file"`
				Holds string `json:"holds"`
			}
			skipped := []skippedFile{}
			for _, sf := range site {
				if sf.Kind == playbook.SiteOther {
					skipped = append(skipped, skippedFile{File: sf.Path, Holds: sf.What})
					fmt.Fprintf(s.Err, "riposte validate: %s: not a playbook, skipped: %s\n", sf.Path, sf.What)
					continue
				}
				if sf.Kind == playbook.SitePolicy && pol != "" && safefile.Same(sf.Path, pol) {
					continue // checked above
				}
				checked++
				diags = append(diags, validateSiteFile(sf)...)
			}
			errs := playbook.Diagnostics(diags).Errors()
			if *format == "json" {
				out := struct {
					Valid       bool                  `json:"valid"`
					Files       int                   `json:"files"`
					Playbooks   []string              `json:"playbooks"`
					Policy      string                `json:"policy,omitempty"`
					Skipped     []skippedFile         `json:"skipped"`
					Diagnostics []playbook.Diagnostic `json:"diagnostics"`
				}{Valid: len(errs) == 0, Files: files, Playbooks: []string{}, Policy: pol, Skipped: skipped, Diagnostics: diags}
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
				if len(errs) == 0 {
					fmt.Fprintf(s.Out, "ok: %d playbook%s valid (%d file%s)\n", len(set.Playbooks), plural(len(set.Playbooks)), files, plural(files))
				} else {
					bad := map[string]bool{}
					for _, d := range errs {
						bad[d.File] = true
					}
					total := files + checked
					if pol != "" {
						total++
					}
					if files == 0 {
						// The paths themselves are the problem (missing, empty).
						fmt.Fprintf(s.Err, "%d problem%s, no playbook read\n", len(errs), plural(len(errs)))
					} else {
						fmt.Fprintf(s.Err, "%d problem%s in %d of %d file%s\n", len(errs), plural(len(errs)), len(bad), total, plural(total))
					}
				}
			}
			if len(errs) > 0 {
				return 1
			}
			return 0
		}}
}

// validatePolicy checks the policy file the worker would load (see
// activities.LoadPolicy): none when --policy is "" or the implicit
// ./policy.yaml is absent. A file named with --policy that does not exist
// is a problem (a worker given it refuses to start); one named only by
// RIPOSTE_POLICY is not checked, and notice says so: the container image
// sets it to where a deployment mounts its policy, which a playbook
// repository's CI does not. It returns the file read ("" when none) and
// its errors, else its warnings.
func validatePolicy(f *runtimeFlags) (file string, diags playbook.Diagnostics, notice string) {
	if f.Policy == "" {
		return "", nil, ""
	}
	at := func(msg string) playbook.Diagnostics {
		return playbook.Diagnostics{{File: f.Policy, Line: 1, Col: 1, Severity: yamlx.SeverityError, Message: msg}}
	}
	if _, err := os.Stat(f.Policy); errors.Is(err, fs.ErrNotExist) {
		given := false
		if f.fs != nil {
			f.fs.Visit(func(fl *flag.Flag) { given = given || fl.Name == "policy" })
		}
		switch {
		case given:
			return f.Policy, at(fmt.Sprintf("--policy %s: no such file (a worker given it refuses to start; --policy \"\" checks no policy)", f.Policy)), ""
		case os.Getenv("RIPOSTE_POLICY") != "":
			return "", nil, fmt.Sprintf("riposte validate: RIPOSTE_POLICY names %s, which does not exist here: the policy is not checked (a worker would refuse to start without it; --policy FILE checks one)\n", f.Policy)
		}
		return "", nil, "" // the implicit ./policy.yaml is optional
	}
	p, err := activities.LoadPolicy(f.Policy)
	var ds yamlx.Diagnostics
	switch {
	case errors.As(err, &ds):
		return f.Policy, ds, ""
	case err != nil:
		return f.Policy, at(err.Error()), ""
	}
	return f.Policy, p.Warnings, ""
}

// validateSiteFile checks a site file found under validate's PATHs as
// what it is (playbook.SiteKind): a policy as the worker loads one, the
// configuration as the worker reads it, its secret references by their
// shape only (validate runs where the secrets are not: CI, a laptop;
// riposte connections check looks them up).
func validateSiteFile(sf playbook.SiteFile) playbook.Diagnostics {
	at := func(err error) playbook.Diagnostics {
		return playbook.Diagnostics{{File: sf.Path, Line: 1, Col: 1, Severity: yamlx.SeverityError, Message: err.Error()}}
	}
	if sf.Kind == playbook.SitePolicy {
		p, err := activities.LoadPolicy(sf.Path)
		var ds yamlx.Diagnostics
		switch {
		case errors.As(err, &ds):
			return ds
		case err != nil:
			return at(err)
		}
		return p.Warnings
	}
	_, ds, err := config.LoadConnectionsWith(sf.Path, config.ConnectionsOptions{Unresolved: true})
	if err != nil && len(ds.Errors()) == 0 {
		return at(err) // the file could not be read
	}
	return ds
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
