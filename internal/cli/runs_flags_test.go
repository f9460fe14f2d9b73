package cli

import (
	"strings"
	"testing"
)

// The runs subcommands share one flag set, and each ignored the flags of
// the others: `riposte runs follow RUN --json` printed text lines (a
// script piping it to jq failed on the first one, after the run had been
// followed), `riposte runs show RUN --status failed` showed the run
// whatever its status, `riposte runs list --interval 1s` listed. A flag
// the subcommand does not use is refused (exit 2) naming the subcommands
// it applies to, before any request.
func TestRunsRefusesFlagsOfOtherSubcommands(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"runs", "follow", "RUN", "--json"}, "--json"},
		{[]string{"runs", "show", "RUN", "--status", "failed"}, "--status"},
		{[]string{"runs", "show", "RUN", "--limit", "5"}, "--limit"},
		{[]string{"runs", "list", "--interval", "1s"}, "--interval"},
		{[]string{"runs", "list", "--retry-for", "1m"}, "--retry-for"},
	} {
		args := append(tc.args, "--api", "http://127.0.0.1:1", "--token", "t")
		code, out, errOut := runCLI(t, args...)
		if code != 2 || !strings.Contains(errOut, tc.flag) || strings.Contains(errOut, "calling the Riposte API") || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 naming %s, no request", tc.args, code, out, errOut, tc.flag)
		}
	}
}
