package intake

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/riposte-dev/riposte/internal/mdtext"
	"github.com/riposte-dev/riposte/internal/problem"
)

// schemaJSON is the detection contract, see detection.schema.json.
//
//go:embed detection.schema.json
var schemaJSON []byte

// schemaURL is the $id of detection.schema.json.
const schemaURL = "https://riposte.dev/schemas/intake/detection.schema.json"

// SchemaJSON returns a copy of the embedded JSON Schema (draft 2020-12)
// that [Validator] enforces, for example to publish it to detector authors.
func SchemaJSON() []byte { return bytes.Clone(schemaJSON) }

// FieldError is one validation failure: Index is the detection's position
// in the request, Path the field inside it (dotted object keys and [n]
// array indices, e.g. "finding_info.uid" or "attacks[0].technique.uid"; ""
// is the detection itself; see the package documentation for the quoting
// of unusual keys), Message what is wrong ("is required").
type FieldError = problem.FieldError

// Validator checks detections against the embedded schema. Build it once
// with [NewValidator]; it is safe for concurrent use.
type Validator struct {
	schema *jsonschema.Schema
	// byLocation finds the compiled (sub)schema that produced an error, to
	// phrase the message from its constraints.
	byLocation map[string]*jsonschema.Schema
}

// NewValidator compiles the embedded detection schema.
func NewValidator() (*Validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("intake: parse embedded detection schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("intake: load embedded detection schema: %w", err)
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("intake: compile embedded detection schema: %w", err)
	}
	v := &Validator{schema: sch, byLocation: make(map[string]*jsonschema.Schema)}
	v.index(sch)
	return v, nil
}

// index records every reachable subschema by its location.
func (v *Validator) index(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if _, seen := v.byLocation[s.Location]; seen {
		return
	}
	v.byLocation[s.Location] = s
	for _, p := range s.Properties {
		v.index(p)
	}
	if ap, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
		v.index(ap)
	}
	v.index(s.Items2020)
	v.index(s.Ref)
	v.index(s.Not)
	for _, list := range [][]*jsonschema.Schema{s.PrefixItems, s.AllOf, s.AnyOf, s.OneOf} {
		for _, sub := range list {
			v.index(sub)
		}
	}
}

// Validate checks every detection and returns all failures of all of them,
// sorted by detection index, then path. It returns nil when all are valid.
func (v *Validator) Validate(dets []Detection) []FieldError {
	var out []FieldError
	for i, d := range dets {
		out = append(out, v.validateOne(i, d)...)
	}
	return out
}

func (v *Validator) validateOne(idx int, d Detection) []FieldError {
	inst := map[string]any(d) // the library only recognises the unnamed map type
	securityFinding := d.IsSecurityFinding()
	if securityFinding {
		inst = mapSecurityFinding(inst)
	}
	inst, _ = dropOptionalNulls(inst, v.schema)
	out := append(checkTime(idx, d), checkUnmappedText(idx, d)...)
	err := v.schema.Validate(inst)
	if err == nil {
		return out
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return append(out, FieldError{Index: idx, Message: "could not be validated: " + err.Error()})
	}
	n := len(out)
	v.collect(idx, inst, ve, &out)
	for i := n; i < len(out); i++ {
		if securityFinding && (out[i].Path == "finding_info" || strings.HasPrefix(out[i].Path, "finding_info.")) {
			out[i].Path = "finding" + strings.TrimPrefix(out[i].Path, "finding_info")
		}
		if out[i].Path == "class_uid" {
			out[i].Message = strings.Replace(out[i].Message, "must be 2004", "must be 2004 (Detection Finding) or 2001 (Security Finding, mapped)", 1)
		}
	}
	slices.SortFunc(out, func(a, b FieldError) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return slices.Compact(out)
}

// dropOptionalNulls returns inst without the null members that the schema
// s describes but does not require, at every level s describes (through
// $ref, and into the object items of the arrays it describes: a copy when
// one is dropped: the detection itself stays as sent). OCSF reads null as
// absent, and records read back from columnar stores carry every absent
// attribute as null: Amazon Security Lake keeps OCSF in Parquet, and its
// records read back through Athena or OpenSearch say "confidence_score":
// null, "metadata": {"product": {"version": null}}, "device": {"hostname":
// null}. A required member that is null stays, and is refused by the
// schema.
func dropOptionalNulls(inst map[string]any, s *jsonschema.Schema) (map[string]any, bool) {
	var out map[string]any
	set := func(k string, v any, drop bool) {
		if out == nil {
			out = maps.Clone(inst)
		}
		if drop {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	for ; s != nil; s = s.Ref {
		for k, sub := range s.Properties {
			x, present := inst[k]
			if !present {
				continue
			}
			if out != nil {
				x, present = out[k] // as an earlier pass (a $ref) left it
				if !present {
					continue
				}
			}
			switch v := x.(type) {
			case nil:
				if !slices.Contains(s.Required, k) {
					set(k, nil, true)
				}
			case map[string]any:
				if nm, changed := dropOptionalNulls(v, sub); changed {
					set(k, nm, false)
				}
			case []any:
				if nl, changed := dropOptionalNullsInItems(v, sub); changed {
					set(k, nl, false)
				}
			}
		}
	}
	if out == nil {
		return inst, false
	}
	return out, true
}

// dropOptionalNullsInItems applies dropOptionalNulls to the object items
// of an array that the schema s describes.
func dropOptionalNullsInItems(l []any, s *jsonschema.Schema) ([]any, bool) {
	for s != nil && s.Items2020 == nil {
		s = s.Ref
	}
	if s == nil {
		return l, false
	}
	var out []any
	for i, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if nm, changed := dropOptionalNulls(m, s.Items2020); changed {
			if out == nil {
				out = slices.Clone(l)
			}
			out[i] = nm
		}
	}
	if out == nil {
		return l, false
	}
	return out, true
}

// collect flattens the library's error tree into FieldErrors, one per leaf.
func (v *Validator) collect(idx int, inst any, e *jsonschema.ValidationError, out *[]FieldError) {
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			v.collect(idx, inst, c, out)
		}
		return
	}
	if req, ok := e.ErrorKind.(*kind.Required); ok {
		for _, name := range req.Missing {
			segs, _, _ := locationSegs(inst, append(slices.Clone(e.InstanceLocation), name))
			*out = append(*out, FieldError{Index: idx, Path: formatSegs(segs), Message: "is required"})
		}
		return
	}
	segs, val, found := locationSegs(inst, e.InstanceLocation)
	*out = append(*out, FieldError{Index: idx, Path: formatSegs(segs), Message: v.message(e, val, found)})
}

// message phrases one failure from the constraints of the subschema that
// failed, e.g. "must be an integer between 0 and 100, got 150".
func (v *Validator) message(e *jsonschema.ValidationError, val any, found bool) string {
	if k, ok := e.ErrorKind.(*kind.InvalidJsonValue); ok {
		return fmt.Sprintf("holds a Go value of type %T, which is not a JSON value", k.Value)
	}
	want := expectation(v.byLocation[e.SchemaURL])
	if want == "" {
		want = fallbackExpectation(e.ErrorKind)
	}
	if !found {
		return want
	}
	return want + ", got " + describeValue(val)
}

// expectation describes what a (sub)schema accepts, or "" if it cannot.
func expectation(s *jsonschema.Schema) string {
	if s == nil {
		return ""
	}
	if s.Const != nil {
		return "must be " + displayJSON(*s.Const)
	}
	if s.Enum != nil {
		vals := make([]string, len(s.Enum.Values))
		for i, x := range s.Enum.Values {
			vals[i] = displayJSON(x)
		}
		return "must be one of " + strings.Join(vals, ", ")
	}
	var types []string
	if s.Types != nil {
		types = s.Types.ToStrings()
	}
	if len(types) == 1 {
		switch t := types[0]; t {
		case "integer", "number":
			return "must be " + withArticle(t) + rangeText(s.Minimum, s.Maximum)
		case "string":
			if s.MinLength != nil && *s.MinLength > 0 {
				return "must be a non-empty string"
			}
		}
	}
	if len(types) > 0 {
		for i, t := range types {
			types[i] = withArticle(t)
		}
		return "must be " + strings.Join(types, " or ")
	}
	return ""
}

func rangeText(lo, hi *big.Rat) string {
	switch {
	case lo != nil && hi != nil:
		return " between " + lo.RatString() + " and " + hi.RatString()
	case lo != nil:
		return " greater than or equal to " + lo.RatString()
	case hi != nil:
		return " less than or equal to " + hi.RatString()
	}
	return ""
}

// fallbackExpectation covers error kinds that expectation cannot phrase
// (only reachable if the schema grows new keywords).
func fallbackExpectation(k jsonschema.ErrorKind) string {
	if t, ok := k.(*kind.Type); ok {
		want := make([]string, len(t.Want))
		for i, w := range t.Want {
			want[i] = withArticle(w)
		}
		return "must be " + strings.Join(want, " or ")
	}
	return fmt.Sprintf("fails the schema keyword %q", strings.Join(k.KeywordPath(), "/"))
}

func withArticle(jsonType string) string {
	switch jsonType {
	case "integer", "object", "array":
		return "an " + jsonType
	case "null":
		return "null"
	default:
		return "a " + jsonType
	}
}

// maxEcho bounds how much of a (possibly AI-written) string is quoted back
// in an error message.
const maxEcho = 40

// describeValue renders an instance value for "got ..." in messages.
func describeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		return formatFloat(x)
	case string:
		if len(x) > maxEcho {
			return strconv.Quote(mdtext.Clip(x, maxEcho)) + "…"
		}
		return strconv.Quote(x)
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	default:
		return displayJSON(v)
	}
}

// formatFloat writes x the way JSON producers usually do: plain decimal
// notation, exponent only for very large or very small magnitudes.
func formatFloat(x float64) string {
	if a := math.Abs(x); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// displayJSON renders a schema value (const/enum member).
func displayJSON(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case nil:
		return "null"
	default:
		return fmt.Sprint(x)
	}
}
