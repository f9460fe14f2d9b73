package playbook_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// The JSON Schema (docs/playbook.schema.json) is what editors show to
// authors while they write: it must accept exactly what riposte validate
// accepts, field by field, or an editor marks a playbook red that validates,
// or stays silent on one that riposte validate refuses. Each case changes
// one field of a valid playbook; the schema and the validator must agree.
// (Cross-field rules the schema cannot say, such as needs and quorum,
// are left out.)
func TestSchemaAgreesWithValidator(t *testing.T) {
	schemaJSON, err := playbook.JSONSchema(testCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("playbook.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("playbook.json")
	if err != nil {
		t.Fatal(err)
	}
	const base = `apiVersion: riposte/v1
name: p
version: 1
description: d
trigger:
  when: detection.severity_id >= 4
steps:
  - id: isolate
    action: edr.contain_host
    with: {hostname: h1}
    for_each: [a, b]
    timeout: 5m
    retry: {max_attempts: 3, backoff: 2}
    approval: {approvers: {users: [U1]}, timeout: 30m}
`
	for _, tc := range []struct{ name, from, to string }{
		{"the base", "", ""},
		{"zero timeout", "timeout: 5m", "timeout: 0s"},
		{"zero timeout in days", "timeout: 5m", "timeout: 0d"},
		{"zero approval timeout", "timeout: 30m", "timeout: 0m0s"},
		{"a signed timeout", "timeout: 5m", "timeout: +5m"},
		{"a fraction with no leading digit", "timeout: 5m", "timeout: .5h"},
		{"backoff below 1", "backoff: 2", "backoff: 0.5"},
		{"a number for a description", "description: d", "description: 2024"},
		{"a number for a name", "name: p", "name: 42"},
		{"a for_each string that is no template", "for_each: [a, b]", "for_each: hosts"},
		{"a signed day count", "timeout: 5m", "timeout: +2d"},
		{"a negative name", "name: p", "name: -5"},
		{"a fractional name", "name: p", "name: 4.5"},
		{"a bool for a description", "description: d", "description: true"},
		// name and id are identifiers: YAML reads true and false as bools,
		// which the schema refuses (a playbook named true, a step
		// steps.true, is a slip, not a choice).
		{"a bool for a name", "name: p", "name: true"},
		{"a false name", "name: p", "name: false"},
		{"a bool for a step id", "id: isolate", "id: true"},
		{"a false step id", "id: isolate", "id: false"},
		// A version is an integer; JSON Schema's integer is any number
		// with no fraction (draft 6 on), which YAML 2.0 is.
		{"a version written with a zero fraction", "version: 1", "version: 2.0"},
		{"a version with a fraction", "version: 1", "version: 2.5"},
		{"an attempt count written with a zero fraction", "max_attempts: 3", "max_attempts: 3.0"},
		{"an integer param written with a zero fraction", "{hostname: h1}", "{hostname: h1, priority: 2.0}"},
		{"backoff of 1", "backoff: 2", "backoff: 1"},
		{"a for_each template", "for_each: [a, b]", `for_each: "${{ detection.hosts }}"`},
		// A param that is not a string takes a literal of its type or
		// exactly one ${{ expr }}; text around a placeholder renders a
		// string, which riposte validate refuses and the schema accepted.
		{"an integer param as one template", "{hostname: h1}", `{hostname: h1, priority: "${{ detection.severity_id }}"}`},
		{"an integer param as text around a template", "{hostname: h1}", `{hostname: h1, priority: "P${{ detection.severity_id }}"}`},
		{"a list param as text around a template", "{hostname: h1}", `{hostname: h1, ports: "${{ detection.ports }} "}`},
		{"a bool param as text around a template", "{hostname: h1}", `{hostname: h1, isolate: "is ${{ true }}"}`},
		{"a mapping param as text around a template", "{hostname: h1}", `{hostname: h1, labels: "{${{ detection.labels }}}"}`},
		{"a number param as text around a template", "{hostname: h1}", `{hostname: h1, ratio: "${{ 1 }}.5"}`},
		{"an enum param as text around a template", "{hostname: h1}", `{hostname: h1, mode: "${{ detection.mode }}"}`},
	} {
		src := strings.Replace(base, tc.from, tc.to, 1)
		_, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
		valid := diags.Err() == nil
		var v any
		if err := yaml.Unmarshal([]byte(src), &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		serr := sch.Validate(inst)
		if valid != (serr == nil) {
			t.Errorf("%s (%s): riposte validate says %v, the schema says %v", tc.name, tc.to, orOK(diags.Err()), orOK(serr))
		}
	}
}

func orOK(err error) string {
	if err == nil {
		return "ok"
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// A whole number written with a fraction is the integer: the version
// recorded with every run is 2, not 0 or a refusal.
func TestWholeFloatIsTheInteger(t *testing.T) {
	src := strings.Replace(stepDoc("  - id: a\n    action: core.noop\n    concurrency: 4.0\n    for_each: [a]\n"), "version: 1", "version: 2.0", 1)
	pb, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
	if diags.Err() != nil {
		t.Fatal(diags)
	}
	if pb.Playbook.Version != 2 || pb.Playbook.Steps[0].Concurrency != 4 {
		t.Errorf("version %d, concurrency %d; want 2 and 4", pb.Playbook.Version, pb.Playbook.Steps[0].Concurrency)
	}
}
