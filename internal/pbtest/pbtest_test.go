package pbtest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var (
	durationRe  = regexp.MustCompile(`\b\d+\.\d+s\b`)
	xmlTimeRe   = regexp.MustCompile(`time="[0-9.]+"`)
	goldenFiles = "testdata/golden"
)

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenFiles, name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/pbtest -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./internal/pbtest -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

func normalize(b []byte) []byte { return durationRe.ReplaceAll(b, []byte("0.00s")) }

func run(t *testing.T, verbose bool, files ...string) (*Report, string) {
	t.Helper()
	var out bytes.Buffer
	r := &Runner{Out: &out, Verbose: verbose}
	rep := r.Run(files)
	rep.WriteSummary(&out)
	return rep, out.String()
}

func TestFeaturesPass(t *testing.T) {
	rep, out := run(t, true, "testdata/contain.test.yaml")
	if !rep.Passed() {
		t.Fatalf("want every case to pass:\n%s", out)
	}
	f := rep.Files[0]
	if f.Playbook != "contain-test" || len(f.Cases) != 8 {
		t.Fatalf("file = %+v", f)
	}
	for _, want := range []string{
		"=== RUN   contain-test/isolates a high-confidence workstation\n",
		"--- PASS: contain-test/denied by the on-call (",
		"    step isolate: denied (gate denied by U2; reason: approval denied by U2: VIP, call first)\n",
		"ok  \ttestdata/contain.test.yaml\t",
		"PASS\n8 cases passed in 1 file (",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// The fakes record every call as the interpreter made it.
	first := f.Cases[0]
	var block, ticket []Call
	for _, c := range first.Calls {
		switch c.Step {
		case "block":
			block = append(block, c)
		case "ticket":
			ticket = append(ticket, c)
		}
	}
	if len(block) != 2 || len(ticket) != 2 {
		t.Fatalf("calls = %+v", first.Calls)
	}
	for _, c := range block {
		if !c.Stubbed || c.Params["ip"] == nil || !strings.HasSuffix(c.IdempotencyKey, "/block/"+[]string{"0", "1"}[c.Index]) {
			t.Errorf("block call = %+v", c)
		}
		if !strings.HasPrefix(c.IdempotencyKey, "contain-test:") {
			t.Errorf("workflow id not derived like dispatch does: %q", c.IdempotencyKey)
		}
	}
	if ticket[0].Attempt != 1 || ticket[0].Error != "503 from the ticketing API" || ticket[1].Attempt != 2 || ticket[1].Output["ticket"] != "SEC-42" {
		t.Errorf("ticket calls = %+v", ticket)
	}
	// Unstubbed core.noop runs for real: it echoes its params.
	for _, c := range first.Calls {
		if c.Step == "isolate" && (c.Stubbed || c.Output["hostname"] != "fin-ws-042" || c.Output["simulated"] != nil) {
			t.Errorf("isolate call = %+v", c)
		}
	}
	dry := f.Cases[5]
	if dry.Name != "a dry run approves every gate" || len(dry.Calls) == 0 || !dry.Calls[0].DryRun {
		t.Errorf("dry run calls = %+v", dry.Calls)
	}
	if g := dry.Result.Gates[0]; g.Decision == nil || g.Decision.Via != "dry_run" {
		t.Errorf("dry-run gate = %+v", g)
	}
	for _, g := range first.Result.Gates {
		for _, v := range g.Votes {
			if v.Via != ViaTest {
				t.Errorf("vote via %q, want %q", v.Via, ViaTest)
			}
		}
	}
	if len(f.Cases[7].Calls) != 0 || f.Cases[7].Result != nil {
		t.Errorf("an untriggered case ran: %+v", f.Cases[7])
	}
}

func TestBrokenExpectations(t *testing.T) {
	rep, out := run(t, false, "testdata/broken.test.yaml")
	if rep.Passed() {
		t.Fatal("want the broken expectations to fail")
	}
	cases, failed, broken := rep.Counts()
	if cases != 6 || failed != 6 || broken != 0 {
		t.Errorf("counts = %d cases, %d failed, %d broken", cases, failed, broken)
	}
	golden(t, "broken.golden", normalize([]byte(out)))
}

func TestMalformedFile(t *testing.T) {
	rep, out := run(t, false, "testdata/malformed.test.yaml", "testdata/invalid/bad.test.yaml")
	if rep.Passed() {
		t.Fatal("want malformed files to fail")
	}
	for _, f := range rep.Files {
		if len(f.Cases) != 0 || len(f.Problems) == 0 {
			t.Errorf("%s: cases ran although the file does not load: %+v", f.Path, f)
		}
	}
	golden(t, "malformed.golden", normalize([]byte(out)))
}

func TestJUnit(t *testing.T) {
	rep, _ := run(t, false, "testdata/broken.test.yaml", "testdata/contain.test.yaml", "testdata/invalid/bad.test.yaml")
	var b bytes.Buffer
	if err := rep.WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.golden.xml", xmlTimeRe.ReplaceAll(b.Bytes(), []byte(`time="0.000"`)))
}

func TestFilter(t *testing.T) {
	var out bytes.Buffer
	r := &Runner{Out: &out, Filter: regexp.MustCompile(`contain-test/(denied|a dry run)`)}
	rep := r.Run([]string{"testdata/contain.test.yaml"})
	if n := len(rep.Files[0].Cases); n != 2 || !rep.Passed() {
		t.Fatalf("ran %d cases, passed %v:\n%s", n, rep.Passed(), out.String())
	}
	r = &Runner{Out: &out, Filter: regexp.MustCompile(`nothing matches`)}
	out.Reset()
	rep = r.Run([]string{"testdata/contain.test.yaml"})
	if len(rep.Files[0].Cases) != 0 || !strings.Contains(out.String(), "[no cases to run]") {
		t.Errorf("output = %q", out.String())
	}
}

func TestFindFiles(t *testing.T) {
	got, err := FindFiles([]string{"testdata", "testdata/contain.yaml", "testdata/contain.test.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	want := "testdata/broken.test.yaml testdata/contain.test.yaml testdata/invalid/bad.test.yaml testdata/malformed.test.yaml"
	if strings.Join(got, " ") != want {
		t.Errorf("files = %v", got)
	}
	for _, bad := range []string{"testdata/nope", "testdata/detections/credential-dumping.json", "testdata/invalid/../../pbtest.go"} {
		if _, err := FindFiles([]string{bad}); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lonely.yaml"), []byte("x: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FindFiles([]string{filepath.Join(dir, "lonely.yaml")}); err == nil || !strings.Contains(err.Error(), "has no tests") {
		t.Errorf("playbook without tests: %v", err)
	}
}

func TestMatch(t *testing.T) {
	got := map[string]any{"a": float64(1), "b": []any{map[string]any{"x": "y", "z": true}}, "c": nil}
	for _, tc := range []struct {
		want any
		diff string
	}{
		{map[string]any{"a": 1}, ""},
		{map[string]any{"a": 1.0, "b": []any{map[string]any{"x": "y"}}}, ""},
		{map[string]any{"c": nil}, ""},
		{map[string]any{"a": 2}, "v.a: want 2, got 1"},
		{map[string]any{"d": "e"}, `v.d: want "e", got nothing`},
		{map[string]any{"b": []any{}}, `v.b: want 0 items, got 1: [{"x":"y","z":true}]`},
		{map[string]any{"b": []any{map[string]any{"z": false}}}, "v.b[0].z: want false, got true"},
		{map[string]any{"a": map[string]any{}}, "v.a: want a mapping, got 1"},
		{map[string]any{"a": "1"}, `v.a: want "1", got 1`},
	} {
		diff := strings.Join(match("v", tc.want, got), "; ")
		if diff != tc.diff {
			t.Errorf("match(%v) = %q, want %q", tc.want, diff, tc.diff)
		}
	}
}

func TestMerge(t *testing.T) {
	dst := map[string]any{"a": 1, "device": map[string]any{"hostname": "h", "ip": "10.0.0.1"}, "gone": true}
	merge(dst, map[string]any{"device": map[string]any{"hostname": "web"}, "gone": nil, "new": map[string]any{"x": nil, "y": 2}})
	got := show(dst)
	if want := `{"a":1,"device":{"hostname":"web","ip":"10.0.0.1"},"new":{"y":2}}`; got != want {
		t.Errorf("merged = %s, want %s", got, want)
	}
}

// TestContainActions uses a catalog with a contain action: it is gated
// without an approval block (approvers from approval_defaults), answered
// by Simulate when not stubbed, and simulated by the worker in a dry run,
// where a stub for it is refused.
func TestContainActions(t *testing.T) {
	defs := activities.Definitions()
	var actions []catalog.Action
	for _, d := range defs {
		if d.Vendor == "core" {
			actions = append(actions, d.Action)
		}
	}
	actions = append(actions,
		catalog.Action{Name: "edr.isolate", Vendor: "edr", Risk: catalog.RiskContain, Undo: "edr.release",
			Params:  []catalog.Param{{Name: "host", Type: catalog.TypeString, Required: true}},
			Outputs: []catalog.Field{{Name: "device_id", Type: catalog.TypeString}, {Name: "isolated", Type: catalog.TypeBool}}},
		catalog.Action{Name: "edr.release", Vendor: "edr", Risk: catalog.RiskContain, Undo: "edr.isolate",
			Params: []catalog.Param{{Name: "host", Type: catalog.TypeString, Required: true}}},
	)
	cat := catalog.MustNew(actions...)
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("edr.yaml", `apiVersion: riposte/v1
name: edr
version: 1
trigger: {when: "true"}
steps:
  - id: isolate
    action: edr.isolate
    with: {host: "${{ detection.device.hostname }}"}
outputs:
  device: steps.isolate.output.device_id
`)
	det := `{class_uid: 2004, time: 1, severity_id: 5, metadata: {product: {name: d}}, finding_info: {uid: u1, title: t}, device: {hostname: h1}}`
	write("edr.test.yaml", `approval_defaults: {users: [USITE], groups: [SGROUP]}
groups: {SGROUP: [UG]}
cases:
  - name: simulated by default
    detection: `+det+`
    approvals: {isolate: {approve: UG}}
    expect:
      steps:
        isolate:
          status: succeeded
          output: {simulated: true, device_id: simulated-device_id, isolated: true, host: h1}
          gate: {state: approved, approvers: [UG, USITE], by: UG}
      outputs: {device: simulated-device_id}
  - name: stubbed
    detection: `+det+`
    stubs: {isolate: {output: {device_id: dev-9}}}
    approvals: {isolate: {approve: USITE}}
    expect: {outputs: {device: dev-9}}
  - name: dry run
    detection: `+det+`
    dry_run: true
    expect: {steps: {isolate: {status: succeeded, output: {simulated: true}}}}
`)
	var out bytes.Buffer
	r := &Runner{Catalog: cat, Out: &out}
	rep := r.Run([]string{filepath.Join(dir, "edr.test.yaml")})
	if !rep.Passed() {
		t.Fatalf("want a pass:\n%s", out.String())
	}

	write("bad.test.yaml", `playbook: edr
cases:
  - name: a stub that a dry run would never use
    detection: `+det+`
    dry_run: true
    stubs: {isolate: {output: {device_idd: x}}}
    expect: {status: succeeded}
  - name: an output field the action does not have
    detection: `+det+`
    stubs: {isolate: {output: {device_idd: x}}}
    approvals: {isolate: {timeout: true}}
    expect: {status: failed}
`)
	out.Reset()
	if rep = r.Run([]string{filepath.Join(dir, "bad.test.yaml")}); rep.Passed() {
		t.Error("a test file with stubs that cannot apply passed")
	}
	got := strings.ReplaceAll(out.String(), dir+string(filepath.Separator), "")
	for _, want := range []string{
		"bad.test.yaml:6:13: cases[0].stubs.isolate: in a dry run, edr.isolate (risk contain) is simulated by the worker; this stub would never be used",
		`bad.test.yaml:10:32: cases[1].stubs.isolate.output: edr.isolate has no output field "device_idd" (did you mean "device_id"?)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"", "t.test.yaml:1:1: file is empty; expected a playbook test (cases: [...])"},
		{"cases: [\n", "t.test.yaml:1:1: YAML syntax: did not find expected node content"},
		{"- a\n", "t.test.yaml:1:1: test file must be a mapping, got a list"},
		{"cases: []\n", "t.test.yaml:1:8: cases: a test file needs at least one case"},
		{"cases: {}\n", "t.test.yaml:1:8: cases must be a list, got a mapping"},
		{"caes: []\n", `t.test.yaml:1:1: test file: unknown key "caes" (did you mean "cases"?)` + "\n" + `t.test.yaml:1:1: test file: missing required key "cases"`},
		{"cases: [{name: a, detection: 7, expect: {status: succeeded}}]\n---\nx: 1\n",
			"t.test.yaml:1:30: cases[0].detection must be a file name or a mapping, got an integer\nt.test.yaml:2:1: a test file holds one YAML document; found a second"},
		{"groups: {G: [U1, {}]}\ncases: [{name: a, detection: {}, patch: [], expect: {steps: {Bad-Id: ok}}}]\n",
			"t.test.yaml:1:18: groups.G[1] must be a string, got a mapping\n" +
				"t.test.yaml:2:41: cases[0].patch must be a mapping, got a list\n" +
				`t.test.yaml:2:62: cases[0].expect.steps.Bad-Id: "Bad-Id" is not a step id (lowercase letters, digits and _)` + "\n" +
				`t.test.yaml:2:70: cases[0].expect.steps.Bad-Id: "ok" is not one of succeeded, failed, skipped, denied, timed_out`},
	} {
		_, diags := Decode("t.test.yaml", []byte(tc.src))
		if got := diags.Error(); got != tc.want {
			t.Errorf("Decode(%q):\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}
