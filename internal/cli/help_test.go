package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// 'riposte <command> -h' (the top-level help says so) prints the command's
// help and exits 0 for every command, those with subcommands included.
func TestEveryCommandHelp(t *testing.T) {
	for _, c := range commands() {
		for _, h := range []string{"-h", "--help"} {
			var out, errb bytes.Buffer
			code := Main(context.Background(), []string{c.name, h}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
			if code != 0 {
				t.Errorf("riposte %s %s: exit %d\n%s%s", c.name, h, code, out.String(), errb.String())
				continue
			}
			if got := out.String() + errb.String(); !strings.Contains(got, "Usage") || strings.Contains(got, "unknown subcommand") {
				t.Errorf("riposte %s %s printed:\n%s", c.name, h, got)
			}
		}
	}
}

// 'riposte help <unknown>' is a usage error, as 'riposte <unknown>' is: a
// script asking for help on a misspelt command must not read success.
func TestHelpUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"help", "submti"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != 2 || !strings.Contains(errb.String(), `unknown command "submti"`) {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	code = Main(context.Background(), []string{"help", "sub"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != 2 || !strings.Contains(errb.String(), `did you mean "submit"?`) {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
