package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/config"
	"github.com/riposte-dev/riposte/internal/pbtest"
)

const testUsage = `Usage: riposte test [--config riposte.yaml] [--junit FILE] [--run REGEXP] [-v] [PATH...]

Runs playbook tests: NAME.test.yaml files beside the playbooks they test
(format: internal/pbtest/doc.go). Each case sends a detection through the
real playbook interpreter in Temporal's in-memory test environment, with
virtual time (gate timeouts and retry backoffs take no wall time), scripted
approvals, and every action stubbed or simulated: nothing leaves the
process. The run is then compared with the case's expect block. The
finding view the trigger and the run read is built with the detections:
settings of riposte.yaml (--config; ./riposte.yaml when present), as the
server builds it.

PATH is a test file, a playbook (meaning its NAME.test.yaml), or a
directory searched recursively for *.test.yaml; default ./playbooks.
Output is go-test-like; exit 0 when every case passes, 1 when a case fails
or a test file or playbook does not load, 2 on usage errors.`

func testCommand() command {
	return command{name: "test", summary: "Run playbook tests (NAME.test.yaml) against the real interpreter", usage: testUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			fs := newFlagSet("test", testUsage, s)
			junit := fs.String("junit", "", "also write a JUnit XML report to `FILE` (for CI)")
			run := fs.String("run", "", "run only the cases whose playbook/case name matches `REGEXP`")
			verbose := fs.Bool("v", false, "verbose: print every case and its steps, not only failures")
			configPath := fs.String("config", "riposte.yaml", "the site's riposte.yaml, whose `detections:` settings build the finding view as the server does (optional when the default is missing)")
			paths, code, ok := parseArgs(fs, args)
			if !ok {
				return code
			}
			r := &pbtest.Runner{Catalog: activities.Catalog(), Out: s.Out, Verbose: *verbose}
			if code := loadTestDetections(fs, *configPath, r, s); code != 0 {
				return code
			}
			if *run != "" {
				re, err := regexp.Compile(*run)
				if err != nil {
					fmt.Fprintf(s.Err, "riposte test: --run: %v\n", err)
					return 2
				}
				r.Filter = re
			}
			if len(paths) == 0 {
				paths = []string{"playbooks"}
			}
			files, err := pbtest.FindFiles(paths)
			if err != nil {
				fmt.Fprintf(s.Err, "riposte test: %v\n", err)
				return 2
			}
			var jf *os.File
			if *junit != "" {
				// Created up front: a report that cannot be written is a
				// usage error, found before any test runs.
				if jf, err = os.Create(*junit); err != nil {
					fmt.Fprintf(s.Err, "riposte test: --junit: %v\n", err)
					return 2
				}
			}
			if len(files) == 0 {
				fmt.Fprintf(s.Err, "riposte test: no test files (*.test.yaml) in %v\n", paths)
			}
			rep := r.Run(files)
			rep.WriteSummary(s.Out)
			if jf != nil {
				werr := rep.WriteJUnit(jf)
				if cerr := jf.Close(); werr == nil {
					werr = cerr
				}
				if werr != nil {
					fmt.Fprintf(s.Err, "riposte test: writing %s: %v\n", *junit, werr)
					return 1
				}
			}
			if !rep.Passed() {
				return 1
			}
			// Nothing run is not a pass: a CI gate pointed at the wrong
			// directory, or a misspelt --run, would otherwise stay green.
			if len(files) == 0 {
				return 1
			}
			if cases, _, _ := rep.Counts(); *run != "" && cases == 0 {
				fmt.Fprintf(s.Err, "riposte test: --run %q matches no test case\n", *run)
				return 1
			}
			return 0
		}}
}

// loadTestDetections gives r the detections: settings of the riposte.yaml
// at path, as riposte dev and serve read them: a missing file is the
// defaults unless --config named it; bad settings are a usage error.
func loadTestDetections(fs *flag.FlagSet, path string, r *pbtest.Runner, s Streams) int {
	named := false
	fs.Visit(func(f *flag.Flag) { named = named || f.Name == "config" })
	if _, err := os.Stat(path); err != nil && !named && errors.Is(err, os.ErrNotExist) {
		return 0
	}
	cfg, diags, err := config.LoadDetections(path)
	for _, d := range diags.Warnings() {
		fmt.Fprintf(s.Err, "riposte test: %s\n", d)
	}
	if err != nil {
		fmt.Fprintf(s.Err, "riposte test: --config: %v\n", err)
		return 2
	}
	r.Finding = &cfg
	return 0
}
