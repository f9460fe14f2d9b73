package cli

import (
	"context"
	"fmt"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/playbook"
)

const schemaUsage = `Usage: riposte schema

Prints the JSON Schema of riposte/v1 playbooks, with the action catalog's
params, for editors (docs/playbook.schema.json is this output).`

func schemaCommand() command {
	return command{name: "schema", summary: "Print the playbook JSON Schema for editors", usage: schemaUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			if wantsHelp(args) {
				fmt.Fprintln(s.Out, schemaUsage)
				return 0
			}
			b, err := playbook.JSONSchema(activities.Catalog())
			if err != nil {
				return fail(s, err)
			}
			fmt.Fprintln(s.Out, string(b))
			return 0
		}}
}
