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
			v := "devel"
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			fmt.Fprintf(s.Out, "riposte %s\n", v)
			return 0
		}}
}
