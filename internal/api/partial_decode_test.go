package api

import (
	"net/http"
	"strings"
	"testing"
)

// README: with ?partial=true "a detection that fails the contract or its
// conversion is refused alone ... and the valid ones are processed, so a
// shipper that drops 4xx answers does not lose them". A record that could
// not be decoded — an NDJSON line cut short (a file rotated mid-write, a
// forwarder's line limit), a key given twice in one record, a number out of
// range, a record nested too deep — made the whole batch a 400 even with
// ?partial=true: every valid detection of the batch was dropped with it. In
// NDJSON each line is its own record, and a record whose object was read to
// its end (a repeated key, a number out of range) is its own in an array
// too: such a record is refused alone, located (line, column), the others
// are processed.
func TestPartialRefusesAloneARecordThatCannotBeDecoded(t *testing.T) {
	cut := `{"class_uid":2004,"time":1763458937000,"severity_id":5,"finding_info":{"uid":"cut-1","title":"LSA`
	dupKey := strings.Replace(det("dup-1", 5, ""), `"severity_id":5,`, `"severity_id":5,"severity_id":1,`, 1)
	huge := det("huge-1", 5, `,"unmapped":{"n":1e999}`)
	for _, tc := range []struct {
		name string
		body string
		bad  int
		msg  string
	}{
		{"NDJSON line cut short", det("ok-1", 5, "") + "\n" + cut + "\n" + det("ok-2", 5, "") + "\n", 1, "line 2"},
		{"NDJSON line with a repeated key", det("ok-1", 5, "") + "\n" + dupKey + "\n" + det("ok-2", 5, "") + "\n", 1, "severity_id"},
		{"array element with a repeated key", "[" + det("ok-1", 5, "") + ",\n" + dupKey + ",\n" + det("ok-2", 5, "") + "]", 1, "severity_id"},
		{"NDJSON line with a number out of range", det("ok-1", 5, "") + "\n" + det("ok-2", 5, "") + "\n" + huge + "\n", 2, "unmapped.n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeStarter{}
			h := newTestServer(t, st).Handler()
			// Without partial the batch is refused whole, naming the record.
			if got := serve(h, post("/v1/detections", "Bearer "+testToken, tc.body)); got.code != http.StatusBadRequest || len(st.Starts()) != 0 {
				t.Fatalf("without partial: %d, %d started: %.300s", got.code, len(st.Starts()), got.body)
			}
			got := serve(h, post("/v1/detections?partial=true", "Bearer "+testToken, tc.body))
			if got.code != http.StatusAccepted {
				t.Fatalf("partial: status %d, want 202 with the record refused alone (the 2 valid detections are otherwise lost): %.400s", got.code, got.body)
			}
			r := decodeResponse(t, got)
			if r.Started != 2 || len(r.Detections) != 3 || len(st.Starts()) != 2 {
				t.Fatalf("partial: started %d of %d outcomes: %.600s", r.Started, len(r.Detections), got.body)
			}
			bad := r.Detections[tc.bad]
			if bad.Index != tc.bad || bad.State != "refused" || bad.Status != 400 || len(bad.Problems) != 1 ||
				!strings.Contains(bad.Problems[0].Path+" "+bad.Problems[0].Message, tc.msg) {
				t.Errorf("refused record = %+v; want index %d refused 400 naming %q", bad, tc.bad, tc.msg)
			}
		})
	}
}
