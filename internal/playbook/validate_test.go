// These tests are in package playbook_test because they use the shipped
// catalog: activities imports workflows, which imports playbook.
package playbook_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/yamlx"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testCatalog is the shipped catalog plus typed actions, so that param type
// checks and contain_for can be exercised.
func testCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	var actions []catalog.Action
	for _, d := range activities.Definitions() {
		actions = append(actions, d.Action)
	}
	hostParams := []catalog.Param{
		{Name: "hostname", Type: catalog.TypeString, Required: true, Description: "Host to isolate."},
		{Name: "ports", Type: catalog.TypeList, Description: "Ports left open."},
		{Name: "priority", Type: catalog.TypeInt, Description: "1-5."},
		{Name: "isolate", Type: catalog.TypeBool, Description: "Full isolation."},
		{Name: "note", Type: catalog.TypeString, Description: "Free text."},
		{Name: "labels", Type: catalog.TypeObject, Description: "Key/values."},
		{Name: "ratio", Type: catalog.TypeNumber, Description: "A number."},
		{Name: "mode", Type: catalog.TypeString, Enum: []string{"network", "full"}, Description: "How."},
	}
	actions = append(actions,
		catalog.Action{Name: "edr.contain_host", Risk: catalog.RiskContain, Undo: "edr.release_host", Vendor: "edr", Params: hostParams},
		catalog.Action{Name: "edr.release_host", Risk: catalog.RiskContain, Undo: "edr.contain_host", Vendor: "edr", Params: hostParams},
		catalog.Action{Name: "intel.lookup_ip", Risk: catalog.RiskRead, Vendor: "intel", Params: []catalog.Param{
			{Name: "ip", Type: catalog.TypeString, Required: true},
		}},
		catalog.Action{Name: "edr.status", Risk: catalog.RiskRead, Vendor: "edr"},
	)
	cat, err := catalog.New(actions...)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestInvalidGolden checks the exact diagnostics of every broken playbook in
// testdata/invalid against its .golden file. Run with -update to rewrite them
// (and then read every changed golden by eye).
func TestInvalidGolden(t *testing.T) {
	cat := testCatalog(t)
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("only %d files in testdata/invalid", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.ToSlash(file)
			c, diags := playbook.LoadBytes(file, src, cat)
			if c != nil || len(diags) == 0 {
				t.Fatalf("playbook is valid; every file in testdata/invalid must fail")
			}
			checkDiagPositions(t, file, src, diags)
			got := diags.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// checkDiagPositions checks properties every diagnostic list must have: the
// right file, positions inside the source, sorted order and no repeats.
func checkDiagPositions(t *testing.T, file string, src []byte, diags playbook.Diagnostics) {
	t.Helper()
	lines := strings.Split(string(src), "\n")
	for i, d := range diags {
		if d.File != file {
			t.Errorf("diagnostic %d names file %q, want %q", i, d.File, file)
		}
		if d.Line < 1 || d.Col < 1 {
			t.Errorf("diagnostic %q has position %d:%d; want 1-based", d, d.Line, d.Col)
			continue
		}
		if d.Line > len(lines) {
			t.Errorf("diagnostic %q is past the last line (%d)", d, len(lines))
		} else if n := utf8.RuneCountInString(lines[d.Line-1]); d.Col > n+1 && !(d.Line == 1 && d.Col == 1) {
			t.Errorf("diagnostic %q is past the end of line %d (%d characters)", d, d.Line, n)
		}
		if d.Message == "" {
			t.Errorf("diagnostic %d has no message", i)
		}
		if i > 0 {
			p := diags[i-1]
			if p == d {
				t.Errorf("diagnostic %q is repeated", d)
			}
			if p.Line > d.Line || (p.Line == d.Line && p.Col > d.Col) {
				t.Errorf("diagnostics not sorted: %q before %q", p, d)
			}
		}
	}
}

// TestLoadDir loads the valid playbooks: the *.test.yaml file beside them
// is skipped (it is not a playbook and would not parse as one).
func TestLoadDir(t *testing.T) {
	set, n, diags := playbook.Load([]string{"testdata/valid"}, testCatalog(t))
	if diags != nil {
		t.Fatalf("unexpected diagnostics:\n%v", diags)
	}
	if n != 4 {
		t.Errorf("Load read %d files, want 4 (the .test.yaml file is skipped)", n)
	}
	var names []string
	for _, c := range set.Playbooks {
		names = append(names, c.Playbook.Name)
	}
	if got, want := strings.Join(names, ","), "anchors,contain-compromised-host,contain-credential-theft,minimal"; got != want {
		t.Errorf("playbooks = %s, want %s (sorted by name)", got, want)
	}
	c, ok := set.Get("minimal")
	if !ok || c.Playbook.File != filepath.Join("testdata", "valid", "minimal.yaml") {
		t.Errorf("Get(minimal) = %v, %v", c, ok)
	}
	if c.Digest == "" || len(c.Digest) != 64 {
		t.Errorf("digest = %q", c.Digest)
	}
	if _, ok := set.Get("nope"); ok {
		t.Error("Get(nope) found a playbook")
	}

	files, err := playbook.Files([]string{"testdata/valid", "testdata/valid/minimal.test.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	// A file named explicitly is kept whatever its name, but a playbook
	// test is no playbook (see TestLoadSkipsNamedTestFiles).
	if len(files) != 4 {
		t.Errorf("Files = %v", files)
	}
	if files, err := playbook.Files([]string{"testdata/valid/minimal.yaml", "testdata/valid/minimal.test.yaml", "testdata/valid/reference.yaml"}); err != nil || len(files) != 2 || files[1] != "testdata/valid/reference.yaml" {
		t.Errorf("Files of named files = %v, %v", files, err)
	}
	if _, err := playbook.Files([]string{"testdata/no-such-dir"}); err == nil {
		t.Error("Files of a missing path: no error")
	}
}

func TestLoadDuplicateNames(t *testing.T) {
	set, n, diags := playbook.Load([]string{"testdata/load/dup"}, testCatalog(t))
	if set != nil {
		t.Fatal("Load returned a set despite a duplicate name")
	}
	if n != 2 {
		t.Errorf("Load read %d files, want 2", n)
	}
	a, b := filepath.Join("testdata", "load", "dup", "a.yaml"), filepath.Join("testdata", "load", "dup", "b.yaml")
	want := b + `:2:7: duplicate playbook name "minimal" (also in ` + a + ")"
	if diags.Error() != want {
		t.Errorf("diagnostics:\n%v\nwant:\n%s", diags, want)
	}
}

func TestLoadReportsAllFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ok, _ := os.ReadFile("testdata/valid/minimal.yaml")
	write("a.yml", string(ok))
	write("b.yaml", strings.Replace(string(ok), "core.log", "core.lgo", 1))
	write("c.yaml", "apiVersion: riposte/v1\nname: minimal\n")
	write(".hidden.yaml", "not: a playbook")
	write("notes.txt", "not yaml")
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(".git/x.yaml", "junk")
	_, n, diags := playbook.Load([]string{dir}, testCatalog(t))
	if n != 3 {
		t.Errorf("read %d files, want 3", n)
	}
	var got []string
	for _, d := range diags {
		got = append(got, filepath.Base(d.File)+": "+d.Message)
	}
	first := filepath.Join(dir, "a.yml")
	want := []string{
		// Duplicate names are reported even when the file has other errors,
		// and all files are reported, each sorted by position.
		`b.yaml: duplicate playbook name "minimal" (also in ` + first + ")",
		`b.yaml: steps[0].action: unknown action "core.lgo" (did you mean "core.log"?)`,
		`c.yaml: playbook: missing required key "version"`,
		`c.yaml: playbook: missing required key "trigger"`,
		`c.yaml: playbook: missing required key "steps"`,
		`c.yaml: duplicate playbook name "minimal" (also in ` + first + ")",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadFile(t *testing.T) {
	cat := testCatalog(t)
	if _, diags := playbook.LoadFile("testdata/valid/full.yaml", cat); diags != nil {
		t.Fatal(diags)
	}
	_, diags := playbook.LoadFile("testdata/missing.yaml", cat)
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "cannot read file") || diags[0].Line != 1 {
		t.Errorf("diagnostics = %v", diags)
	}
}

func TestIsPlaybookFile(t *testing.T) {
	for path, want := range map[string]bool{
		"a.yaml": true, "dir/a.yml": true, "a.test.yaml": false, "a.test.yml": false,
		".a.yaml": false, "a.json": false, "a.yaml.bak": false,
	} {
		if got := playbook.IsPlaybookFile(path); got != want {
			t.Errorf("IsPlaybookFile(%q) = %v", path, got)
		}
	}
}

// posOf returns the 1-based line and rune column of the first occurrence of
// marker in src, plus off runes.
func posOf(t *testing.T, src, marker string, off int) (int, int) {
	t.Helper()
	i := strings.Index(src, marker)
	if i < 0 {
		t.Fatalf("marker %q not in source", marker)
	}
	line := strings.Count(src[:i], "\n") + 1
	col := utf8.RuneCountInString(src[strings.LastIndex(src[:i], "\n")+1:i]) + 1
	return line, col + off
}

// TestExprErrorPositions checks that an expression error points at the bad
// token inside the YAML line, whatever the scalar's style.
func TestExprErrorPositions(t *testing.T) {
	const head = "apiVersion: riposte/v1\nname: p\nversion: 1\ntrigger:\n  when: true\nsteps:\n  - id: a\n    action: core.noop\n"
	tests := []struct {
		name   string
		step   string // appended to the first step
		marker string // the error is at the first occurrence of marker...
		off    int    // ...plus off runes
	}{
		{"plain", "    if: detection.a >= 4 &&& true\n", "&&&", 2},
		{"plain after unicode", "    if: detection.a == \"héllo wörld\" &&& true\n", "&&&", 2},
		{"double quoted", "    if: \"detection.a >= 4 &&& true\"\n", "&&&", 2},
		{"double quoted with escapes", `    if: "detection.a == \"x\\\\y\\ty\" &&& true"` + "\n", "&&&", 2},
		{"double quoted unicode escape", "    if: \"detection.a == \\u00e9 &&& true\"\n", "&&&", 2},
		{"single quoted", "    if: 'detection.a == ''x'' &&& true'\n", "&&&", 2},
		{"literal block, line 2", "    if: |\n      detection.a >= 4 &&\n        detection.b >< 1\n", "><", 1},
		{"literal block after a blank line", "    if: |-\n\n      detection.a >= 4 &&\n      detection.b >< 1\n", "><", 1},
		{"folded block, line 2", "    if: >\n      detection.a >= 4 &&\n      detection.b >< 1\n", "><", 1},
		{"plain over two lines", "    if: detection.a >= 4 &&\n      detection.b >< 1\n", "><", 1},
		{"plain over two lines, trailing spaces", "    if: detection.a >= 4 &&   \n      detection.b >< 1\n", "><", 1},
		{"double quoted over two lines", "    if: \"detection.a >= 4 &&\n      detection.b >< 1\"\n", "><", 1},
		{"double quoted escaped line break", "    if: \"detection.a >= 4 && \\\n      detection.b >< 1\"\n", "><", 1},
		{"template in plain string", "    with:\n      note: seen ${{ detection.a >< 1 }} twice\n", "><", 1},
		{"template in double quoted string", "    with:\n      note: \"say \\\"hi\\\" ${{ detection.a >< 1 }}\"\n", "><", 1},
		{"second template in string", "    with:\n      note: \"${{ detection.b }} and ${{ detection.a >< 1 }}\"\n", "><", 1},
		{"template in flow mapping", "    with: {note: \"x ${{ detection.a >< 1 }}\"}\n", "><", 1},
		{"template in nested list", "    with:\n      hosts:\n        - ok\n        - ${{ detection.a >< 1 }}\n", "><", 1},
		{"template in literal block, line 2", "    with:\n      note: |\n        Host: ${{ detection.host }}\n        Sev: ${{ detection.a >< 1 }}\n", "><", 1},
		{"multi-line template", "    with:\n      note: |\n        ${{ detection.a &&\n          detection.b >< 1 }}\n", "><", 1},
		{"for_each template", "    for_each: ${{ detection.hosts >< 1 }}\n", "><", 1},
		{"non-literal steps index, line 2", "    if: |\n      true &&\n      steps[detection.x].status == \"ok\"\n", "[detection.x]", 0},
		{"approval if", "    approval:\n      if: detection.a &&& true\n", "&&&", 2},
		{"unclosed template", "    with:\n      note: \"a ${{ detection.a\"\n", "${{", 0},
		{"crlf line endings", "    if: |\r\n      true &&\r\n      detection.b >< 1\r\n", "><", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := head + tt.step
			if strings.Contains(tt.step, "\r\n") {
				src = strings.ReplaceAll(head, "\n", "\r\n") + tt.step
			}
			_, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
			if len(diags) != 1 {
				t.Fatalf("want one diagnostic, got:\n%v", diags)
			}
			line, col := posOf(t, src, tt.marker, tt.off)
			if d := diags[0]; d.Line != line || d.Col != col {
				lines := strings.Split(src, "\n")
				t.Errorf("%v\nwant position %d:%d\n%s\n%s^", d, line, col, lines[d.Line-1], strings.Repeat(" ", max(d.Col-1, 0)))
			}
		})
	}
}

// stepDoc is a playbook whose steps are the given YAML (indented as list items).
func stepDoc(steps string) string {
	return "apiVersion: riposte/v1\nname: p\nversion: 1\ntrigger:\n  when: true\nsteps:\n" + steps
}

func messages(diags playbook.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		out = append(out, d.Message)
	}
	return out
}

// TestParamTypes checks literal `with` values against typed params.
func TestParamTypes(t *testing.T) {
	tests := []struct {
		with string // the with mapping, flow style
		want string // "" = valid
	}{
		{`{hostname: web1}`, ""},
		{`{hostname: "${{ detection.device.hostname }}"}`, ""},
		{`{hostname: "host-${{ detection.device.hostname }}"}`, ""},
		{`{hostname: 42}`, `steps[0].with.hostname: must be a string, got an integer`},
		{`{hostname: null}`, `steps[0].with.hostname: must be a string, got null`},
		{`{}`, `steps[0]: action edr.contain_host needs param "hostname" (string)`},
		{`{hostname: a, priority: 3}`, ""},
		{`{hostname: a, priority: "3"}`, `steps[0].with.priority: must be an integer, got a string`},
		{`{hostname: a, priority: 2.5}`, `steps[0].with.priority: must be an integer, got a number`},
		{`{hostname: a, priority: "${{ detection.severity_id }}"}`, ""},
		{`{hostname: a, priority: "${{ 1 }}${{ 2 }}"}`, `steps[0].with.priority: must be an integer; a string with ${{ }} inside renders to a string (use exactly one ${{ expr }} to keep its type)`},
		{`{hostname: a, ratio: 3}`, ""},
		{`{hostname: a, ratio: 0.5}`, ""},
		{`{hostname: a, ratio: yes}`, `steps[0].with.ratio: must be a number, got a string`},
		{`{hostname: a, ratio: true}`, `steps[0].with.ratio: must be a number, got a bool`},
		{`{hostname: a, isolate: false}`, ""},
		{`{hostname: a, isolate: "false"}`, `steps[0].with.isolate: must be a bool, got a string`},
		{`{hostname: a, ports: [22, "${{ detection.port }}"]}`, ""},
		{`{hostname: a, ports: {a: 1}}`, `steps[0].with.ports: must be a list, got a mapping`},
		{`{hostname: a, labels: {a: 1, b: "${{ vars }}"}}`, ""},
		{`{hostname: a, labels: [a]}`, `steps[0].with.labels: must be a mapping, got a list`},
		{`{hostname: a, mode: full}`, ""},
		{`{hostname: a, mode: ful}`, `steps[0].with.mode: "ful" is not one of network, full (did you mean "full"?)`},
		{`{hostname: a, mode: "${{ detection.mode }}"}`, ""},
		{`{hostname: a, hostnme: b}`, `steps[0].with: unknown param "hostnme" for action edr.contain_host (did you mean "hostname"?)`},
		{`{hostname: a, zzz: b}`, `steps[0].with: unknown param "zzz" for action edr.contain_host (edr.contain_host takes: hostname, ports, priority, isolate, note, labels, ratio, mode)`},
	}
	cat := testCatalog(t)
	for _, tt := range tests {
		t.Run(tt.with, func(t *testing.T) {
			src := stepDoc("  - id: a\n    action: edr.contain_host\n    approval: auto\n    with: " + tt.with + "\n")
			_, diags := playbook.LoadBytes("p.yaml", []byte(src), cat)
			if got := strings.Join(messages(diags), "\n"); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	// An action without params.
	src := stepDoc("  - id: a\n    action: edr.status\n    with: {x: 1}\n")
	_, diags := playbook.LoadBytes("p.yaml", []byte(src), cat)
	if got := strings.Join(messages(diags), "\n"); got != `steps[0].with: unknown param "x" for action edr.status (edr.status takes no params)` {
		t.Errorf("edr.status: %q", got)
	}
	// core.noop accepts any params.
	src = stepDoc("  - id: a\n    action: core.noop\n    with: {x: 1, y: [a], z: {b: c}}\n")
	if _, diags := playbook.LoadBytes("p.yaml", []byte(src), cat); diags != nil {
		t.Errorf("core.noop: %v", diags)
	}
}

// TestCycles: each cycle is reported once, on the needs of the step where
// the search closes it, naming the steps in the loop.
func TestCycles(t *testing.T) {
	src := stepDoc(`  - {id: a, action: core.noop, needs: [c]}
  - {id: b, action: core.noop, needs: [a]}
  - {id: c, action: core.noop, needs: [b]}
  - {id: d, action: core.noop, needs: [a, c, e]}
  - {id: e, action: core.noop, needs: [f]}
  - {id: f, action: core.noop, needs: [e]}
  - {id: g, action: core.noop, needs: [g, a]}
`)
	_, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
	want := []string{
		"needs form a cycle: a -> c -> b -> a",
		"needs form a cycle: e -> f -> e",
		`step "g" needs itself`,
	}
	if got := messages(diags); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", diags, strings.Join(want, "\n"))
	}
}

// TestAliasBomb: aliases must not expand a small file into an enormous value.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("      l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "      l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	src := stepDoc("  - id: a\n    action: core.noop\n    with:\n" + b.String())
	start := time.Now()
	_, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "aliases expand the document to more than 100000 values") {
		t.Errorf("diagnostics: %v", diags)
	}
}

func TestLimits(t *testing.T) {
	big := make([]byte, playbook.MaxFileBytes+1)
	_, diags := playbook.Parse("big.yaml", big)
	if len(diags) != 1 || diags[0].Message != fmt.Sprintf("file is %d bytes; the limit is %d", playbook.MaxFileBytes+1, playbook.MaxFileBytes) {
		t.Errorf("big file: %v", diags)
	}
	long := stepDoc("  - id: a\n    action: core.noop\n    if: detection.a == \"" + strings.Repeat("x", 5000) + "\"\n")
	_, diags = playbook.LoadBytes("p.yaml", []byte(long), testCatalog(t))
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "the limit is 4096") {
		t.Errorf("long expression: %v", diags)
	}
}

func TestDiagnostics(t *testing.T) {
	ds := playbook.Diagnostics{
		{File: "b.yaml", Line: 1, Col: 1, Message: "b"},
		{File: "a.yaml", Line: 3, Col: 1, Message: "x"},
		{File: "a.yaml", Line: 2, Col: 9, Message: "y"},
		{File: "a.yaml", Line: 2, Col: 1, Message: "z"},
		{File: "a.yaml", Line: 3, Col: 1, Message: "x"},
		{File: "a.yaml", Line: 2, Col: 1, Message: "w"},
	}
	got := ds.Sort().Error()
	want := "a.yaml:2:1: z\na.yaml:2:1: w\na.yaml:2:9: y\na.yaml:3:1: x\nb.yaml:1:1: b"
	if got != want {
		t.Errorf("Sort:\n%s\nwant:\n%s", got, want)
	}
	if playbook.Diagnostics(nil).Err() != nil {
		t.Error("Err() of no diagnostics is not nil")
	}
	if err := (playbook.Diagnostics{{File: "b.yaml", Line: 1, Col: 1, Message: "b"}}).Err(); err == nil || err.Error() != "b.yaml:1:1: b" {
		t.Errorf("Err() = %v", err)
	}
}

func TestAlwaysField(t *testing.T) {
	src := func(v string) string {
		return "apiVersion: riposte/v1\nname: a\nversion: 1\ntrigger: {when: \"true\"}\nsteps:\n  - id: ticket\n    action: core.noop\n    always: " + v + "\n"
	}
	pb, diags := playbook.Parse("a.yaml", []byte(src("true")))
	if len(diags) > 0 || !pb.Steps[0].Always {
		t.Fatalf("always: true: %v %+v", diags, pb)
	}
	_, diags = playbook.Parse("a.yaml", []byte(src(`"yes"`)))
	if len(diags) != 1 || !strings.Contains(diags.Error(), "a.yaml:8:13") || !strings.Contains(diags.Error(), "steps[0].always must be true or false") {
		t.Errorf("always: \"yes\": %v", diags)
	}
}

// TestBillionLaughs: the classic alias bomb in a step's with is refused with
// a positioned error before anything expands it.
func TestBillionLaughs(t *testing.T) {
	src := stepDoc("  - id: a\n    action: core.noop\n    with:\n" + yamlx.BillionLaughs("x", 6))
	_, diags := playbook.LoadBytes("p.yaml", []byte(src), testCatalog(t))
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "aliases expand the document to more than 100000 values") || diags[0].Line < 10 {
		t.Errorf("diagnostics: %v", diags)
	}
}
