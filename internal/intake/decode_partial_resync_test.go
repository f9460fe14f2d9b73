package intake

import (
	"strings"
	"testing"
)

// With ?partial=true a broken NDJSON line is refused alone and the records
// after it are read: every record of the body is either a detection or a
// refusal, never silently dropped. Decode accepts a record line indented by
// whitespace (skipSpace), so after a broken line such a record must still
// be read, not skipped while looking for a line that starts with '{'.
func TestDecodePartialKeepsIndentedRecordAfterBrokenLine(t *testing.T) {
	ok := `{"a":1}`
	for _, tc := range []struct{ name, body string }{
		{"space", ok + "\n" + `{"a":"b` + "\n" + "  " + ok + "\n" + ok + "\n"},
		{"tab", ok + "\n" + `{"a":"b` + "\n" + "\t" + ok + "\n" + ok + "\n"},
		{"CRLF", ok + "\r\n" + `{"a":"b` + "\r\n" + " " + ok + "\r\n" + ok + "\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Without the broken line, Decode reads 3 records: the indented
			// one is a record like the others.
			good := strings.Replace(tc.body, `{"a":"b`, ok, 1)
			all, err := Decode(strings.NewReader(good), DecodeOptions{})
			if err != nil || len(all) != 4 {
				t.Fatalf("Decode of the same body without the broken line: %d records, %v", len(all), err)
			}
			dets, bad, err := DecodePartial(strings.NewReader(tc.body), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(dets) != 4 || len(bad) != 1 || bad[1] == nil {
				t.Fatalf("%d records (%d refused: %v), want 4 with record 1 refused: a valid record after the broken line was dropped unanswered", len(dets), len(bad), bad)
			}
			for i, d := range dets {
				if i != 1 && d["a"] != 1 {
					t.Errorf("record %d = %v", i, d)
				}
			}
		})
	}
}
