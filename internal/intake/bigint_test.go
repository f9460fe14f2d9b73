package intake

import (
	"strings"
	"testing"

	"go.temporal.io/sdk/converter"
)

// README: fields pass through untouched, "an integer beyond 64 bits keeps
// only float64's 15-17 digits, as in the workflow's own JSON decoding".
// The workflow's own decoding (the SDK's JSON payload converter into
// map[string]any) reads every number as float64, so an int64 id beyond
// ±2^53 (1234567890123456789) reaches the run's conditions as the float64
// 1234567890123456768, and its templates write 1234567890123456800 (a
// ticket, a vendor call get another id) — while the intake (trigger,
// explain) read it exactly, and the answer said nothing. The answer now warns, naming the
// field and the value the run reads.
func TestIntegerBeyondFloat64IsWarnedAbout(t *testing.T) {
	body := `{"class_uid":2004,"time":1763458937000,"severity_id":4,"finding_info":{"uid":"u"},` +
		`"metadata":{"product":{"name":"p"}},"unmapped":{"event_id":1234567890123456789,"ok":9007199254740992,"list":[-9007199254740993]}}`
	dets, err := Decode(strings.NewReader(body), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Premise: what a run reads.
	dc := converter.GetDefaultDataConverter()
	p, err := dc.ToPayload(map[string]any(dets[0]))
	if err != nil {
		t.Fatal(err)
	}
	var run map[string]any
	if err := dc.FromPayload(p, &run); err != nil {
		t.Fatal(err)
	}
	if got := run["unmapped"].(map[string]any)["event_id"].(float64); int64(got) != 1234567890123456768 {
		t.Fatalf("premise: the run reads %v", got)
	}

	var warned []string
	for _, w := range Warnings(0, dets[0], nil) {
		warned = append(warned, w.Path+": "+w.Message)
	}
	all := strings.Join(warned, "\n")
	if !strings.Contains(all, "unmapped.event_id: ") || !strings.Contains(all, "1234567890123456800") ||
		!strings.Contains(all, "unmapped.list[0]: ") || strings.Contains(all, "unmapped.ok") {
		t.Errorf("warnings:\n%s\nwant unmapped.event_id (written by the run's templates as 1234567890123456800) and unmapped.list[0], not unmapped.ok (2^53 is exact)", all)
	}
}
