package cli

import (
	"context"
	"fmt"
	"runtime/debug"
)

func versionCommand() command {
	return command{name: "version", summary: "Print the version", usage: "Usage: riposte version",
		run: func(ctx context.Context, args []string, s Streams) int {
			if wantsHelp(args) {
				fmt.Fprintln(s.Out, "Usage: riposte version")
				return 0
			}
			fmt.Fprintf(s.Out, "riposte %s\n", buildVersion())
			return 0
		}}
}

// buildVersion is the module version the binary was built from ("devel"
// for a build from a work tree): riposte version prints it, and every
// process's riposte_build_info carries it.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
