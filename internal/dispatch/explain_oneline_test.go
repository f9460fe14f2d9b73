package dispatch

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/finding"
)

// A trigger written over several lines in YAML (a folded scalar keeps the
// line breaks of more-indented lines, as in the shipped cloud-identity
// playbook) was quoted in `decided` with its line breaks, which riposte
// submit --explain, escaping every control character a detection could
// use to forge a line, printed as "\u000a" inside the playbook's own
// expression:
//
//	cloud-identity does not match: `any(finding.cloud_resources, ... ||\u000a    .value contains ...)` is false
//
// The quoted expression is now one line, its line breaks and their
// indentation read as one space.
func TestExplainQuotesAMultiLineTriggerOnOneLine(t *testing.T) {
	det := map[string]any{"severity_id": 4}
	env := map[string]any{"detection": det, "finding": finding.Build(det, finding.DefaultConfig())}
	src := "finding.severity_id >= 2 &&\n    any(finding.cloud_resources, .type == \"AwsIamUser\" ||\n        .value contains \"AWS::IAM::AccessKey\")"
	held, why, err := explainExpr(src, env)
	if err != nil || held {
		t.Fatalf("held %v, err %v", held, err)
	}
	want := "`any(finding.cloud_resources, .type == \"AwsIamUser\" || .value contains \"AWS::IAM::AccessKey\")` is false"
	if why != want {
		t.Errorf("decided %q\nwant      %q", why, want)
	}
	if strings.ContainsAny(why, "\n\r") {
		t.Errorf("decided spans lines: %q", why)
	}
}
