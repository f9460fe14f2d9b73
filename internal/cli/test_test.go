package cli

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pbtestdata holds the playbook tests of internal/pbtest (core actions only).
const pbtestdata = "../pbtest/testdata/"

func runTest(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), append([]string{"test"}, args...), Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestTestCommandExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  []string // substrings of stdout
		err  string   // substring of stderr
	}{
		{"all pass", []string{pbtestdata + "contain.test.yaml"}, 0,
			[]string{"ok  \t" + pbtestdata + "contain.test.yaml\t", "PASS\n8 cases passed in 1 file"}, ""},
		{"a playbook stands for its tests, -v and --run", []string{"-v", "--run", "dry run", pbtestdata + "contain.yaml"}, 0,
			[]string{"=== RUN   contain-test/a dry run approves every gate\n", "--- PASS: contain-test/a dry run approves every gate (", "1 case passed"}, ""},
		{"a failing case", []string{pbtestdata + "broken.test.yaml", pbtestdata + "contain.test.yaml"}, 1,
			[]string{"--- FAIL: contain-test/denied by the on-call (", "    step isolate: status: want \"succeeded\", got \"denied\" (reason: approval denied by U2: VIP, call first)\n",
				"FAIL\t" + pbtestdata + "broken.test.yaml\t", "ok  \t" + pbtestdata + "contain.test.yaml\t", "FAIL\n6 of 14 cases failed in 2 files"}, ""},
		{"a playbook that does not validate", []string{pbtestdata + "invalid"}, 1,
			[]string{"bad.yaml:9:13: steps[0].action: unknown action \"core.nope\"", "1 could not run"}, ""},
		{"a malformed test file", []string{pbtestdata + "malformed.test.yaml"}, 1,
			[]string{"malformed.test.yaml:8:5: cases[0]: unknown key \"expext\" (did you mean \"expect\"?)"}, ""},
		{"no test files", []string{t.TempDir()}, 1, nil, "no test files (*.test.yaml)"},
		{"--run matching no case", []string{"--run", "nothing matches", pbtestdata + "contain.test.yaml"}, 1, []string{"[no cases to run]", "\nFAIL\nno cases ran in 1 file ("}, `--run "nothing matches" matches no test case`},
		{"bad flag", []string{"--nope"}, 2, nil, "flag provided but not defined"},
		{"bad regexp", []string{"--run", "(", pbtestdata}, 2, nil, "--run: error parsing regexp"},
		{"missing path", []string{pbtestdata + "nope"}, 2, nil, "no such file or directory"},
		{"not a test file", []string{pbtestdata + "detections/batch.ndjson"}, 2, nil, "is not a test file"},
		{"junit in a missing directory", []string{"--junit", filepath.Join(t.TempDir(), "no", "such", "dir.xml"), pbtestdata + "contain.test.yaml"}, 2, nil, "--junit:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runTest(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errs)
			}
			for _, w := range tc.out {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if tc.err != "" && !strings.Contains(errs, tc.err) {
				t.Errorf("stderr lacks %q:\n%s", tc.err, errs)
			}
		})
	}
}

func TestTestCommandJUnit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.xml")
	code, out, errs := runTest(t, "--junit", path, pbtestdata+"contain.test.yaml", pbtestdata+"broken.test.yaml", pbtestdata+"invalid/bad.test.yaml")
	if code != 1 {
		t.Fatalf("exit code %d, want 1\n%s\n%s", code, out, errs)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &rep); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b)
	}
	if rep.Tests != 15 || rep.Failures != 7 || len(rep.Suites) != 3 {
		t.Fatalf("report = %d tests, %d failures, %d suites", rep.Tests, rep.Failures, len(rep.Suites))
	}
	// Suites come in file order (sorted): broken, contain, invalid.
	c := rep.Suites[0].Cases[0]
	if c.Name != "denied by the on-call" || c.Classname != "contain-test" || c.Failure == nil ||
		!strings.Contains(c.Failure.Text, "step isolate: status: want \"succeeded\", got \"denied\" (reason: approval denied by U2: VIP, call first)\n") {
		t.Errorf("first case = %+v", c)
	}
	for _, c := range rep.Suites[1].Cases {
		if c.Failure != nil {
			t.Errorf("passing case %q has a failure", c.Name)
		}
	}
	if c := rep.Suites[2].Cases[0]; c.Name != "load" || c.Failure == nil || !strings.Contains(c.Failure.Text, "core.nope") {
		t.Errorf("load failure = %+v", c)
	}

	// All passing: exit 0, and the report says so.
	code, _, _ = runTest(t, "--junit", path, pbtestdata+"contain.test.yaml")
	b, _ = os.ReadFile(path)
	if code != 0 || !strings.Contains(string(b), `tests="8" failures="0"`) {
		t.Errorf("exit %d, report:\n%s", code, b)
	}
}
