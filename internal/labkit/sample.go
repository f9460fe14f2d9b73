package labkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
)

// Sample reads a vendor's documented JSON answer from a fake's
// testdata (embedded), so the fake answers in the vendor's own shape.
// A broken sample is a programming error: it panics at start.
func Sample(fsys fs.FS, name string) map[string]any {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		panic(fmt.Sprintf("labkit: sample %s: %v", name, err))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		panic(fmt.Sprintf("labkit: sample %s is not a JSON object: %v", name, err))
	}
	return m
}

// Overlay returns a copy of a documented object with some of its fields
// set to the fake's state. Every field set must be one the sample has: a
// fake never answers with keys the vendor's example does not show.
func Overlay(sample map[string]any, fields map[string]any) map[string]any {
	out := deepCopy(sample).(map[string]any)
	for k, v := range fields {
		if _, ok := sample[k]; !ok {
			panic(fmt.Sprintf("labkit: field %q is not in the vendor's sample", k))
		}
		out[k] = v
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := maps.Clone(x)
		for k, e := range m {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	default:
		return v
	}
}

// ShapeDiff lists where a fake's JSON answer departs from the vendor's
// documented sample: a key the sample does not have, or a value of another
// JSON type (object, array, string, number, bool; null matches anything,
// as the docs show null for fields that may hold a value). Objects are
// compared key by key, arrays by their first elements. Both sides are
// decoded JSON (encoding/json, with or without UseNumber).
func ShapeDiff(got, doc any) []string {
	var out []string
	shapeDiff("$", got, doc, &out)
	return out
}

func shapeDiff(path string, got, doc any, out *[]string) {
	if got == nil || doc == nil {
		return
	}
	if jsonKind(got) != jsonKind(doc) {
		*out = append(*out, fmt.Sprintf("%s: %s in the answer, %s in the vendor's sample", path, jsonKind(got), jsonKind(doc)))
		return
	}
	switch g := got.(type) {
	case map[string]any:
		d := doc.(map[string]any)
		for _, k := range SortedKeys(g) {
			dv, ok := d[k]
			if !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: not in the vendor's sample", path, k))
				continue
			}
			shapeDiff(path+"."+k, g[k], dv, out)
		}
	case []any:
		d := doc.([]any)
		if len(g) > 0 && len(d) > 0 {
			shapeDiff(path+"[0]", g[0], d[0], out)
		}
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "bool"
	case float64, json.Number:
		return "number"
	default:
		return fmt.Sprintf("%T", v)
	}
}
