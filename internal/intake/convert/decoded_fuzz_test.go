package convert_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/intake/convert"
)

// FuzzConvertDecoded converts what the intake decoder gives (integers as
// int, others as float64, as serve reads a body), where FuzzConvert
// feeds encoding/json's float64s: every converter must take both, and
// answer a finding that marshals or an error naming a path.
func FuzzConvertDecoded(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "real", "*.json"))
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, format := range convert.Formats() {
			f.Add(string(src), format)
		}
	}
	f.Add(`{"event_type":"alert","alert":{"signature_id":1,"severity":9},"src_ip":"10.0.0.1","dest_port":443,"timestamp":"2017-04-07T22:24:37+0100"}`, "suricata")
	f.Fuzz(func(t *testing.T, src, format string) {
		dets, err := intake.Decode(strings.NewReader(src), intake.DecodeOptions{MaxBytes: 64 << 10})
		if err != nil || len(dets) != 1 {
			return
		}
		out, _, cerr := convert.One(0, map[string]any(dets[0]), format)
		if cerr != nil {
			if cerr.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("converted finding does not marshal: %v", err)
		}
	})
}
