package pbtest

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// FindFiles expands paths into the test files to run, sorted. A directory
// is walked for NAME.test.yaml / NAME.test.yml (hidden directories are
// skipped); a test file is taken as is; a playbook file NAME.yaml stands
// for its sibling NAME.test.yaml, which must exist.
func FindFiles(paths []string) ([]string, error) {
	isTest := func(p string) bool { return playbook.IsTestFile(p) && !strings.HasPrefix(filepath.Base(p), ".") }
	return playbook.WalkFiles(paths, isTest, func(p string) ([]string, error) {
		switch {
		case playbook.IsTestFile(p):
			return []string{p}, nil
		case playbook.IsPlaybookFile(p):
			stem := strings.TrimSuffix(p, filepath.Ext(p))
			for _, ext := range []string{".test.yaml", ".test.yml"} {
				if _, err := os.Stat(stem + ext); err == nil {
					return []string{stem + ext}, nil
				}
			}
			return nil, fmt.Errorf("%s has no tests: no %s.test.yaml beside it", p, filepath.Base(stem))
		default:
			return nil, fmt.Errorf("%s is not a test file (NAME.test.yaml) or a playbook", p)
		}
	})
}

// WriteSummary writes the final go-test-like verdict: PASS or FAIL, then
// the counts.
func (r *Report) WriteSummary(w io.Writer) {
	cases, failed, broken := r.Counts()
	files := len(r.Files)
	// No case ran (a --run matching none): the command exits 1, so the
	// summary a CI log ends with does not say PASS.
	if r.Passed() && cases > 0 {
		fmt.Fprintln(w, "PASS")
		fmt.Fprintf(w, "%d case%s passed in %d file%s (%.3fs)\n", cases, plural(cases), files, plural(files), r.Duration.Seconds())
		return
	}
	fmt.Fprintln(w, "FAIL")
	ran := "no cases ran"
	if cases > 0 {
		ran = fmt.Sprintf("%d of %d case%s failed", failed, cases, plural(cases))
	}
	could := ""
	if broken > 0 {
		could = fmt.Sprintf("; %d could not run", broken)
	}
	fmt.Fprintf(w, "%s in %d file%s%s (%.3fs)\n", ran, files, plural(files), could, r.Duration.Seconds())
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	File     string      `xml:"file,attr,omitempty"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// WriteJUnit writes the report as JUnit XML: one <testsuite> per test
// file, one <testcase> per case (classname: the playbook), a <failure>
// holding every mismatch. A file that could not run is one failing
// testcase named "load" holding its diagnostics.
func (r *Report) WriteJUnit(w io.Writer) error {
	out := junitSuites{Name: "riposte test", Time: secs(r.Duration.Seconds())}
	for _, f := range r.Files {
		s := junitSuite{Name: f.Path, File: f.Path, Time: secs(f.Duration.Seconds())}
		if len(f.Problems) > 0 {
			lines := make([]string, len(f.Problems))
			for i, d := range f.Problems {
				lines[i] = d.String()
			}
			class := f.Playbook
			if class == "" {
				class = f.Path
			}
			s.Cases = append(s.Cases, junitCase{
				Name: "load", Classname: class, Time: secs(f.Duration.Seconds()), File: f.Path,
				Failure: &junitFailure{
					Message: firstOf(lines),
					Type:    "LoadError",
					Text:    strings.Join(lines, "\n"),
				},
			})
			s.Tests++
			s.Failures++
		}
		for _, c := range f.Cases {
			jc := junitCase{Name: c.Name, Classname: c.Playbook, Time: secs(c.Duration.Seconds()), File: f.Path}
			if !c.Passed() {
				jc.Failure = &junitFailure{Message: firstOf(c.Failures), Type: "Mismatch", Text: strings.Join(c.Failures, "\n")}
				s.Failures++
			}
			s.Tests++
			s.Cases = append(s.Cases, jc)
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// firstOf is a failure's message attribute: the first line, and how many
// more the body holds.
func firstOf(lines []string) string {
	if len(lines) > 1 {
		return fmt.Sprintf("%s (and %d more)", lines[0], len(lines)-1)
	}
	return lines[0]
}

func secs(s float64) string { return fmt.Sprintf("%.3f", s) }
