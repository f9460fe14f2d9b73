package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
)

const actionsUsage = `Usage: riposte actions [--format text|json|md]

Prints the action catalog: every action a step may call, its risk class
(read, notify, contain), params, outputs and, for contain actions, the undo.
--format md prints docs/actions.md: the catalog plus, per vendor connector,
its docs fragment (activities/<vendor>/README.md), connection fields and
permissions (regenerate with: go run ./cmd/riposte actions --format md > docs/actions.md).`

func actionsCommand() command {
	return command{name: "actions", summary: "Print the action catalog", usage: actionsUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			fs := newFlagSet("actions", actionsUsage, s)
			format := fs.String("format", "text", "output format: text, json or md")
			pos, code, ok := parseArgs(fs, args)
			if !ok {
				return code
			}
			if code, ok := noArgs(s, "actions", pos, "; it prints the whole catalog (--format text, json or md)"); !ok {
				return code
			}
			cat := activities.Catalog()
			switch *format {
			case "text":
				WriteCatalogText(s.Out, cat)
			case "json":
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				_ = enc.Encode(cat.Actions())
			case "md":
				WriteCatalogMarkdown(s.Out, cat, activities.Vendors())
			default:
				fmt.Fprintf(s.Err, "riposte actions: --format must be text, json or md, got %q\n", *format)
				return 2
			}
			return 0
		}}
}

// WriteCatalogText prints the catalog for a terminal.
func WriteCatalogText(w io.Writer, cat *catalog.Catalog) {
	for _, a := range cat.Actions() {
		fmt.Fprintf(w, "%s  [%s]\n    %s\n", a.Name, a.Risk, a.Description)
		if a.Undo != "" {
			fmt.Fprintf(w, "    undo: %s\n", a.Undo)
		}
		for _, p := range a.Params {
			req := ""
			if p.Required {
				req = ", required"
			}
			fmt.Fprintf(w, "    param %s (%s%s): %s\n", p.Name, p.Type, req, p.Description)
		}
		if a.AnyParams {
			fmt.Fprintf(w, "    params: any\n")
		}
		for _, o := range a.Outputs {
			fmt.Fprintf(w, "    output %s (%s): %s\n", o.Name, o.Type, o.Description)
		}
		fmt.Fprintln(w)
	}
}

// RegenerateDocs is the command that rewrites docs/actions.md.
const RegenerateDocs = "go run ./cmd/riposte actions --format md > docs/actions.md"

// WriteCatalogMarkdown prints docs/actions.md: the action summary, one
// section per vendor connector (its docs fragment, permissions, connection
// fields, actions) and every action's params and outputs.
func WriteCatalogMarkdown(w io.Writer, cat *catalog.Catalog, vendors []connector.Vendor) {
	fmt.Fprintln(w, "# Action catalog")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Generated from the catalog and each connector's `activities/<vendor>/README.md`; do not edit by hand. Regenerate with `%s`.\n", RegenerateDocs)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| action | risk | undo | description |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, a := range cat.Actions() {
		fmt.Fprintf(w, "| [`%s`](#%s) | %s | %s | %s |\n", a.Name, anchor(a.Name), a.Risk, code(a.Undo), mdEscape(a.Description))
	}
	fmt.Fprintln(w, "\n# Connectors")
	for _, v := range vendors {
		writeVendorMarkdown(w, cat, v)
	}
	fmt.Fprintln(w, "\n# Actions")
	for _, a := range cat.Actions() {
		fmt.Fprintf(w, "\n## %s\n\n%s\n\nRisk: `%s`", a.Name, a.Description, a.Risk)
		if a.Undo != "" {
			fmt.Fprintf(w, " · undo: `%s`", a.Undo)
		}
		fmt.Fprintln(w)
		if len(a.Params) > 0 || a.AnyParams {
			fmt.Fprintln(w, "\n| param | type | required | description |\n|---|---|---|---|")
			for _, p := range a.Params {
				desc := p.Description
				if len(p.Enum) > 0 {
					desc += " One of: " + strings.Join(p.Enum, ", ") + "."
				}
				fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", p.Name, p.Type, yesNo(p.Required), mdEscape(desc))
			}
			if a.AnyParams {
				fmt.Fprintln(w, "| *any* | any | no | Any params are accepted. |")
			}
		}
		if len(a.Outputs) > 0 {
			fmt.Fprintln(w, "\n| output | type | description |\n|---|---|---|")
			for _, o := range a.Outputs {
				fmt.Fprintf(w, "| `%s` | %s | %s |\n", o.Name, o.Type, mdEscape(o.Description))
			}
		}
	}
}

// writeVendorMarkdown prints one connector's section.
func writeVendorMarkdown(w io.Writer, cat *catalog.Catalog, v connector.Vendor) {
	title, body, _ := strings.Cut(strings.TrimSpace(v.Docs), "\n")
	title = strings.TrimSpace(strings.TrimPrefix(title, "# "))
	fmt.Fprintf(w, "\n## %s\n\nConnection `type: %s`", title, v.Type.Name)
	if v.Type.DefaultBaseURL != "" {
		fmt.Fprintf(w, " · default `base_url`: %s", v.Type.DefaultBaseURL)
	} else if v.Type.BaseURLOptional {
		fmt.Fprint(w, " · no `base_url`")
	} else {
		fmt.Fprint(w, " · `base_url` required")
	}
	fmt.Fprintf(w, " · docs fragment: `%s/README.md`\n\n%s\n", v.Folder(), strings.TrimSpace(body))
	if v.Needs != "" {
		fmt.Fprintf(w, "\nPermissions: %s.\n", strings.TrimSuffix(v.Needs, "."))
	}
	if len(v.Type.Fields) > 0 {
		fmt.Fprintln(w, "\n| field | secret | required | description |\n|---|---|---|---|")
		for _, f := range v.Type.Fields {
			req := yesNo(f.Required)
			if f.RequiredUnless != "" {
				req = "unless `" + f.RequiredUnless + "`"
			}
			desc := f.Description
			if f.Default != "" {
				desc += " Default: `" + f.Default + "`."
			}
			fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", f.Name, yesNo(f.Secret), req, mdEscape(desc))
		}
	}
	var names []string
	for _, d := range v.Definitions() {
		if a, ok := cat.Lookup(d.Name); ok {
			names = append(names, fmt.Sprintf("[`%s`](#%s)", a.Name, anchor(a.Name)))
		}
	}
	fmt.Fprintf(w, "\nActions: %s.\n", strings.Join(names, ", "))
}

func anchor(name string) string { return strings.ReplaceAll(name, ".", "") }

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + s + "`"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
