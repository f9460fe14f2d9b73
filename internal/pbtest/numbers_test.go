package pbtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// "numbers compare by value (1 == 1.0)" (doc.go): 1 and 1.0 are one value,
// 1700000000 and 1700000001 are two. A case expecting an epoch second, an
// id or a count must fail when the run produced a different one; a
// relative tolerance let any two integers past a billion that differ by a
// few units (and epoch milliseconds a second and more apart) pass.
func TestNumbersCompareByValue(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("num.yaml", `apiVersion: riposte/v1
name: num
version: 1
trigger: {when: "true"}
steps:
  - id: echo
    action: core.noop
    with: {seen_at: 1700000001, seen_ms: 1700000000999, ratio: 0.30000000000000004, small: 3}
outputs:
  seen_at: steps.echo.output.seen_at
  id: 1234567890123
`)
	det := `{class_uid: 2004, time: 1, severity_id: 5, metadata: {product: {name: d}}, finding_info: {uid: u1, title: t}}`
	write("num.test.yaml", `cases:
  - name: off by one second
    detection: `+det+`
    expect: {steps: {echo: {output: {seen_at: 1700000000}}}}
  - name: off by a second in milliseconds
    detection: `+det+`
    expect: {steps: {echo: {params: {seen_ms: 1700000000000}}}}
  - name: another id
    detection: `+det+`
    expect: {outputs: {seen_at: 1700000002, id: 1234567890124}}
  - name: the same values
    detection: `+det+`
    expect:
      steps: {echo: {output: {seen_at: 1700000001.0, seen_ms: 1700000000999, ratio: 0.3, small: 3.0}}}
      outputs: {seen_at: 1700000001, id: 1234567890123}
`)
	var out bytes.Buffer
	rep := (&Runner{Out: &out}).Run([]string{filepath.Join(dir, "num.test.yaml")})
	got := map[string]bool{}
	for _, c := range rep.Files[0].Cases {
		got[c.Name] = c.Passed()
	}
	for name, want := range map[string]bool{
		"off by one second":               false,
		"off by a second in milliseconds": false,
		"another id":                      false,
		"the same values":                 true,
	} {
		if got[name] != want {
			t.Errorf("case %q passed = %v, want %v", name, got[name], want)
		}
	}
	if t.Failed() {
		t.Log(strings.ReplaceAll(out.String(), dir, "."))
	}
}
