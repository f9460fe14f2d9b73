package workflows

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/riposte-dev/riposte/internal/finding"
)

// TestSummarizeFromView: what an approver sees is read from the finding
// view only (internal/finding is the one OCSF reader), after the JSON round
// trip the view makes into workflow code. Inputs: the OCSF the converters
// make of vendors' own records (internal/intake/convert/testdata, sources
// in internal/intake/testdata/real/README.md).
func TestSummarizeFromView(t *testing.T) {
	intp := func(n int) *int { return &n }
	cases := []struct {
		file string
		want DetectionSummary
	}{
		{"crowdstrike-alert-idp.ocsf.golden.json", DetectionSummary{
			ID:    "874694c2ff8c43fdb64ef3056ddfb96d:ind:4446934rf3fdb64ec3056ddfb96e:5876E98F-D91B-48AC-8FFC-1191C663A1E9",
			Title: "Identity verification denied", Detector: "Falcon IDP", Severity: "High", SeverityID: 4,
			Confidence: intp(80), AttackIDs: []string{"T1110"},
			Host: "ABDC454.net.example.com", User: "admin.abcdef@example.com", IP: "81.2.69.144",
		}},
		{"elastic-security-alert.ocsf.golden.json", DetectionSummary{
			ID: "abcdef123", Title: "Malicious Behavior Prevention Alert: Empire Stager Execution",
			Detector: "Elastic Security/8.14.0", Severity: "High", SeverityID: 4,
			AttackIDs: []string{"T1059", "T1059.004", "T1059.006", "T1132", "T1132.001"},
			Host:      "siem-linux-release-sec-bis", User: "admin", IP: "89.160.20.156",
		}},
		{"crowdstrike-alert-epp.ocsf.golden.json", DetectionSummary{
			ID:    "92012896127c4a8236ba7601b886b0:ind:2ce412d17b334ad4adc8c1c54dbfec4b:399748687993-5761-42627600",
			Title: "PrewittPupAdwareSensorDetect-Lowest", Detector: "Falcon EPP", Severity: "Low", SeverityID: 2,
			Confidence: intp(10),
			Host:       "ABC709-1175", User: "mohit.jha", IP: "81.2.69.142",
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "internal", "intake", "convert", "testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			var det map[string]any
			if err := json.Unmarshal(raw, &det); err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(finding.Build(det, finding.DefaultConfig()))
			if err != nil {
				t.Fatal(err)
			}
			var view map[string]any // as workflow code gets it: numbers are float64
			if err := json.Unmarshal(b, &view); err != nil {
				t.Fatal(err)
			}
			if got := summarize(view); !reflect.DeepEqual(got, c.want) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(c.want)
				t.Errorf("summarize:\n got %s\nwant %s", gj, wj)
			}
		})
	}
}
