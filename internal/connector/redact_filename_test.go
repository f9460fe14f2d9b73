package connector

import "testing"

// A path of exactly 40 letters, digits and '/' mixing cases (a playbook's
// CamelCase file name with a version in it) has the shape of an AWS
// secret access key and was hidden, extension and all, from the error
// the analyst reads; followed by a file extension it is a file's name.
// An AWS secret key is still hidden, also before a sentence's full stop.
func TestRedactShapesKeepsFileNames(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`open /opt/riposte/pb/IR/PlaybookV2ConfigFinal.yaml: permission denied`, `open /opt/riposte/pb/IR/PlaybookV2ConfigFinal.yaml: permission denied`},
		{`upload of reports/soc/2024/Q3/IncidentReport2024Q3.pdf failed`, `upload of reports/soc/2024/Q3/IncidentReport2024Q3.pdf failed`},
		{`secret ` + awsDocsSecret + `. Check it`, `secret [REDACTED]. Check it`},
		{`secret ` + awsDocsSecret + `.`, `secret [REDACTED].`},
		{`wrote Xk3Jq9LmN2pR5sT8vW1yZ4bC7dF0gH6jK2mP9qR5.json`, `wrote [REDACTED].json`},
	} {
		if got := RedactShapes(tt.in); got != tt.want {
			t.Errorf("RedactShapes(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}
