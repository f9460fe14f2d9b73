package connectortest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Sample reads a documented or recorded vendor answer from the calling
// test's testdata folder (its source is cited in testdata/README.md).
func Sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// JSON decodes a sample into plain values (maps, slices, float64), the
// form labkit.ShapeDiff compares.
func JSON(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}
