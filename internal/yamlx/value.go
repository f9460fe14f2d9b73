package yamlx

import (
	"fmt"
	"math"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Value converts a YAML node to plain data: map[string]any, []any, string,
// bool, nil, int (integral numbers) and float64 — the types detections and
// JSON results hold. Non-string and duplicate keys, numbers that are not
// finite and integers beyond ±2^53 (which JSON carries as another number)
// are reported.
func (r *Reporter) Value(n *yaml.Node, path string) (any, bool) {
	return r.value(n, path, false)
}

func (r *Reporter) value(n *yaml.Node, path string, wide bool) (any, bool) {
	n = Resolve(n)
	if n == nil {
		r.Errorf(n, "%s: unsupported YAML value", path)
		return nil, false
	}
	switch n.Kind {
	case yaml.MappingNode:
		es, ok := r.Mapping(n, path)
		m := make(map[string]any, len(es))
		for _, e := range es {
			v, good := r.value(e.Value, Join(path, e.Key.Value), wide)
			ok = ok && good
			m[e.Key.Value] = v
		}
		return m, ok
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		ok := true
		for i, e := range n.Content {
			v, good := r.value(e, fmt.Sprintf("%s[%d]", path, i), wide)
			ok = ok && good
			l[i] = v
		}
		return l, ok
	case yaml.ScalarNode:
		return r.scalar(n, path, wide)
	}
	r.Errorf(n, "%s: unsupported YAML value", path)
	return nil, false
}

// integerText is an integer written in decimal.
var integerText = regexp.MustCompile(`^[-+]?[0-9][0-9_]*$`)

func (r *Reporter) scalar(n *yaml.Node, path string, wide bool) (any, bool) {
	switch n.Tag {
	case "!!null":
		return nil, true
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			r.Errorf(n, "%s: %v", path, err)
			return nil, false
		}
		return b, true
	case "!!int":
		var i int64
		err := n.Decode(&i)
		if err == nil && (wide || i >= -(1<<53) && i <= 1<<53) {
			return int(i), true
		}
		// Past ±2^53 an integer is carried (JSON, the run's history) as
		// the nearest float64: another number, an id sent wrong.
		f := float64(i)
		if err != nil {
			if f, err = strconv.ParseFloat(n.Value, 64); err != nil {
				r.Errorf(n, "%s: number %s is out of range", path, n.Value)
				return nil, false
			}
			if wide {
				return f, true
			}
		}
		r.Errorf(n, "%s: %s is beyond ±2^53 and would be carried as %s; quote it (%q)", path, n.Value, strconv.FormatFloat(f, 'f', -1, 64), n.Value)
		return nil, false
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			r.Errorf(n, "%s: %s is not a finite number", path, n.Value)
			return nil, false
		}
		if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
			return int(f), true
		}
		if !wide && integerText.MatchString(n.Value) {
			// An integer too long for int64, which yaml.v3 reads as a float.
			r.Errorf(n, "%s: %s is beyond ±2^53 and would be carried as %s; quote it (%q)", path, n.Value, strconv.FormatFloat(f, 'f', -1, 64), n.Value)
			return nil, false
		}
		return f, true
	}
	return n.Value, true
}

// PlainMapping reads a mapping as plain data (see Value).
func (r *Reporter) PlainMapping(n *yaml.Node, path string) (map[string]any, bool) {
	return r.plainMapping(n, path, false)
}

// DetectionMapping reads a detection written in YAML (a test case's) as
// the intake reads one in JSON: as PlainMapping, but an integer beyond
// ±2^53 is kept (int, or float64 past int64) as the intake keeps it, since
// producers send them (an epoch time in nanoseconds, a 64-bit id) and a
// case must be able to write any detection the intake takes.
func (r *Reporter) DetectionMapping(n *yaml.Node, path string) (map[string]any, bool) {
	return r.plainMapping(n, path, true)
}

func (r *Reporter) plainMapping(n *yaml.Node, path string, wide bool) (map[string]any, bool) {
	if rn := Resolve(n); rn == nil || rn.Kind != yaml.MappingNode {
		r.Errorf(rn, "%s must be a mapping, got %s", path, KindName(rn))
		return nil, false
	}
	v, ok := r.value(n, path, wide)
	m, _ := v.(map[string]any)
	return m, ok
}
