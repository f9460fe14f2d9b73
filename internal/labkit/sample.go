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
