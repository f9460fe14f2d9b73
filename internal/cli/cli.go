// Package cli implements the riposte command line: one file per command,
// each with an options struct filled from flags and env.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/riposte-dev/riposte/internal/system"
)

// Streams are the command's standard streams.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string
	run     func(ctx context.Context, args []string, s Streams) int
}

// exitError carries an exit code through a command's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// commands is the one list of subcommands.
func commands() []command {
	return []command{
		validateCommand(),
		testCommand(),
		actionsCommand(),
		connectionsCommand(),
		schemaCommand(),
		devCommand(),
		workerCommand(),
		serveCommand(),
		setupCommand(),
		doctorCommand(),
		submitCommand(),
		runsCommand(),
		approvalsCommand(),
		decideCommand("approve"),
		decideCommand("deny"),
		rollbackCommand(),
		extendCommand(),
		holdsCommand(),
		uiLinksCommand(),
		policyCommand(),
		tokensCommand(),
		benchCommand(),
		versionCommand(),
	}
}

// Main runs the CLI and returns the process exit code.
func Main(ctx context.Context, args []string, s Streams) int {
	s = escapeStreams(s)
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			for _, c := range commands() {
				if c.name == args[1] {
					fmt.Fprintf(s.Out, "%s\n\n%s\n", c.summary, c.usage)
					return 0
				}
			}
			names := make([]string, 0)
			for _, c := range commands() {
				names = append(names, c.name)
			}
			fmt.Fprintf(s.Err, "riposte help: unknown command %q%s\nRun 'riposte help' for the list.\n", args[1], suggest(args[1], names))
			return 2
		}
		usage(s.Out)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], s)
		}
	}
	names := make([]string, 0)
	for _, c := range commands() {
		names = append(names, c.name)
	}
	fmt.Fprintf(s.Err, "riposte: unknown command %q%s\nRun 'riposte help' for the list.\n", args[0], suggest(args[0], names))
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Riposte turns detections into durable, auditable responses on Temporal.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: riposte <command> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	cs := commands()
	width := 0
	for _, c := range cs {
		width = max(width, len(c.name))
	}
	for _, c := range cs {
		fmt.Fprintf(w, "  %-*s %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'riposte help <command>' or 'riposte <command> -h' for a command's flags.")
}

func suggest(got string, names []string) string {
	for _, n := range names {
		if strings.HasPrefix(n, got) || strings.HasPrefix(got, n) {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	return ""
}

// parseFlags parses flags that may appear before, between or after
// positional args (riposte validate playbooks/ --format json).
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// wantsHelp reports whether a command's first argument asks for its help
// (-h, -help, --help), for commands that read a subcommand or no flags
// before parsing any: they print their help and exit 0, as the flag
// parser does for the others.
func wantsHelp(args []string) bool {
	return len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help")
}

// parseArgs parses a command's flags (see parseFlags); when it fails, code
// is the exit code: 0 for -h, 2 for a bad flag (the flag set printed why).
func parseArgs(fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, 0, false
	}
	if err != nil {
		return nil, 2, false
	}
	return pos, 0, true
}

// noArgs refuses the positional arguments of a command that takes none
// (exit 2, the usage code): ignored, they let `riposte dev my-playbooks` run
// ./playbooks and `riposte runs list failed` list every run. hint names
// what to use instead.
func noArgs(s Streams, name string, pos []string, hint string) (code int, ok bool) {
	if len(pos) == 0 {
		return 0, true
	}
	fmt.Fprintf(s.Err, "riposte %s: takes no arguments (got %q)%s\n", name, pos, hint)
	return 2, false
}

// newFlagSet returns a flag set whose usage prints to the error stream.
func newFlagSet(c string, usage string, s Streams) *flag.FlagSet {
	fs := flag.NewFlagSet(c, flag.ContinueOnError)
	fs.SetOutput(s.Err)
	fs.Usage = func() {
		fmt.Fprintf(s.Err, "%s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// fail prints an error and returns the exit code it carries (1 by default).
func fail(s Streams, err error) int {
	var se *system.Error
	if errors.As(err, &se) {
		err = &exitError{code: se.Code, err: se.Err}
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintf(s.Err, "riposte: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(s.Err, "riposte: %v\n", err)
	return 1
}
