package playbook

import (
	"encoding/json"

	"github.com/riposte-dev/riposte/internal/catalog"
)

// JSONSchema returns a JSON Schema (draft-07, what editors' YAML plugins
// read) for riposte/v1 playbooks. It is generated from the same field
// tables the parser checks against, plus the catalog's actions and params,
// so the two cannot drift apart.
func JSONSchema(cat *catalog.Catalog) ([]byte, error) {
	f := newFormat()
	step := objectSchema(f.step)
	props := step["properties"].(map[string]any)
	names := cat.Names()
	props["action"] = map[string]any{"type": "string", "enum": names, "description": fieldDoc(f.step, "action")}
	var conds []any
	for _, a := range cat.Actions() {
		with := map[string]any{"type": "object", "description": a.Description}
		wp := map[string]any{}
		var req []string
		for _, p := range a.Params {
			wp[p.Name] = paramSchema(p)
			if p.Required {
				req = append(req, p.Name)
			}
		}
		with["properties"] = wp
		if !a.AnyParams {
			with["additionalProperties"] = false
		}
		then := map[string]any{"properties": map[string]any{"with": with}}
		if len(req) > 0 {
			with["required"] = req
			then["required"] = []string{"with"}
		}
		conds = append(conds, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"action": map[string]any{"const": a.Name}}, "required": []string{"action"}},
			"then": then,
		})
	}
	step["allOf"] = conds
	root := objectSchema(f.playbook)
	root["$schema"] = "http://json-schema.org/draft-07/schema#"
	root["$id"] = "https://riposte.dev/schemas/playbook-v1.json"
	root["title"] = "Riposte playbook (riposte/v1)"
	root["properties"].(map[string]any)["steps"] = map[string]any{
		"type": "array", "minItems": 1, "items": step, "description": fieldDoc(f.playbook, "steps"),
	}
	return json.MarshalIndent(root, "", "  ")
}

func fieldDoc(o *object, name string) string {
	f, _ := o.field(name)
	return f.doc
}

// durationPattern is the written form of a duration (ParseDuration
// refuses any other); zeroPattern, a zero one, which no field takes.
const (
	durationPattern = `^([0-9]+d|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`
	zeroPattern     = `^(0+d|(0+(\.0+)?(ns|us|µs|ms|s|m|h))+)$`
)

// singleTemplatePattern is a string that is one ${{ expr }} (the compiler
// checks that it holds no second one).
const singleTemplatePattern = `^\$\{\{[\s\S]*\}\}$`

func objectSchema(o *object) map[string]any {
	props := map[string]any{}
	var req []string
	for _, f := range o.fields {
		props[f.name] = fieldSchema(f)
		if f.required {
			req = append(req, f.name)
		}
	}
	s := map[string]any{"type": "object", "description": o.doc, "properties": props, "additionalProperties": false}
	if len(req) > 0 {
		s["required"] = req
	}
	return s
}

func fieldSchema(f field) map[string]any {
	var s map[string]any
	switch f.kind {
	case kString:
		switch {
		case len(f.enum) > 0:
			s = map[string]any{"type": "string", "enum": f.enum}
		case f.pattern != "" && patterns[f.pattern].re.MatchString("0"):
			// `name: 42` is the name "42", as YAML users write it.
			s = map[string]any{"anyOf": []any{
				map[string]any{"type": "string", "pattern": f.pattern},
				map[string]any{"type": "integer", "minimum": 0},
			}}
		case f.pattern != "":
			s = map[string]any{"type": "string", "pattern": f.pattern}
		default:
			// A number or a bool is taken as the text written
			// (`description: 2024`).
			s = map[string]any{"type": []string{"string", "number", "boolean"}}
		}
	case kInt:
		s = map[string]any{"type": "integer"}
		if f.min > 0 {
			s["minimum"] = f.min
		}
		if f.max > 0 {
			s["maximum"] = f.max
		}
	case kNumber:
		s = map[string]any{"type": "number"}
		if f.min > 0 {
			s["minimum"] = f.min
		}
	case kBool:
		s = map[string]any{"type": "boolean"}
	case kDuration:
		s = map[string]any{"type": "string", "pattern": durationPattern, "not": map[string]any{"pattern": zeroPattern}}
	case kExprBool:
		s = map[string]any{"type": []string{"string", "boolean"}}
	case kExprMap:
		s = map[string]any{"type": "object", "propertyNames": map[string]any{"pattern": identPattern},
			"additionalProperties": map[string]any{"type": []string{"string", "number", "boolean"}}}
	case kStringList:
		items := map[string]any{"type": "string"}
		if f.pattern != "" {
			items["pattern"] = f.pattern
		}
		s = map[string]any{"type": "array", "items": items}
		if f.pattern != "" {
			s["uniqueItems"] = true
		}
	case kAnyMap:
		s = map[string]any{"type": "object"}
	case kForEach:
		s = map[string]any{"anyOf": []any{
			map[string]any{"type": "array"},
			map[string]any{"type": "string", "pattern": singleTemplatePattern},
		}}
	case kObject:
		s = objectSchema(f.obj)
	case kApproval:
		s = map[string]any{"oneOf": []any{map[string]any{"const": "auto"}, objectSchema(f.obj)}}
	default:
		s = map[string]any{}
	}
	s["description"] = f.doc
	return s
}

// paramSchema accepts a literal of the param's type, or a ${{ }} template:
// for a param that is not a string, exactly one (text around a placeholder
// renders a string, which the validator refuses); for a string with an
// enum, any string holding one.
func paramSchema(p catalog.Param) map[string]any {
	tmpl := map[string]any{"type": "string", "pattern": singleTemplatePattern}
	if p.Type == catalog.TypeString {
		tmpl["pattern"] = `\$\{\{`
	}
	var lit map[string]any
	switch p.Type {
	case catalog.TypeString:
		lit = map[string]any{"type": "string"}
		if len(p.Enum) > 0 {
			lit["enum"] = p.Enum
		}
	case catalog.TypeInt:
		lit = map[string]any{"type": "integer"}
	case catalog.TypeNumber:
		lit = map[string]any{"type": "number"}
	case catalog.TypeBool:
		lit = map[string]any{"type": "boolean"}
	case catalog.TypeList:
		lit = map[string]any{"type": "array"}
	case catalog.TypeObject:
		lit = map[string]any{"type": "object"}
	default:
		return map[string]any{"description": p.Description}
	}
	if p.Type == catalog.TypeString && len(p.Enum) == 0 {
		lit["description"] = p.Description
		return lit
	}
	return map[string]any{"anyOf": []any{lit, tmpl}, "description": p.Description}
}
