package convert

import (
	"testing"

	"github.com/riposte-dev/riposte/internal/finding"
)

// The Falcon event stream (and the SIEM connector, which writes it to a
// file) delivers a detection as {"metadata": {"eventType":
// "EppDetectionSummaryEvent", …}, "event": {"CompositeId", "Hostname", …}}
// — not the Alerts API record. The converter's documentation said they
// were the same record; a real one (testdata/real/crowdstrike-stream-epp-
// detection-summary.json, README there) was refused with "composite_id is
// required" although it carries event.CompositeId.
func TestCrowdStrikeEventStream(t *testing.T) {
	m := readSample(t, "crowdstrike-stream-epp-detection-summary.json")
	if got := Detect(m); got != FormatCrowdStrike {
		t.Errorf("detected as %q, want crowdstrike", got)
	}
	out, f, err := One(0, readSample(t, "crowdstrike-stream-epp-detection-summary.json"), FormatCrowdStrike)
	if err != nil || f != FormatCrowdStrike {
		t.Fatalf("converting the event stream record: %v", err)
	}
	fi := out["finding_info"].(map[string]any)
	if fi["uid"] != "44be50f58ccfcfcfcfcfcfcfcffc:ind:c8d1292a8a904216aa25ab728f4b45fd:11111111111-2222-3333333" {
		t.Errorf("uid %v, want event.CompositeId (the Alerts API's composite_id of the same alert)", fi["uid"])
	}
	if out["severity_id"] != 2 || out["time"] != int64(1686845212400) || fi["title"] != "NGAV" {
		t.Errorf("severity_id %v (want 2, SeverityName Low), time %v (want metadata.eventCreationTime), title %v", out["severity_id"], out["time"], fi["title"])
	}
	if p := out["metadata"].(map[string]any)["product"].(map[string]any)["name"]; p != "Falcon EPP" {
		t.Errorf("product %v, want Falcon EPP (as the Alerts API record of the same alert, so both dedup to one run)", p)
	}
	view := finding.Build(out, finding.DefaultConfig())
	for kind, want := range map[string]string{"hosts": "DESKTOP1111", "users": "USER11111", "ips": "81.2.69.144", "hashes": "faf0c5e4ef7dbcfd863377c55a4d1d87a3f6a58c13a8a9882e11012066f31976"} {
		if got := finding.Primary(view, kind); got != want {
			t.Errorf("%s: %q, want %q", kind, got, want)
		}
	}

	// Not a detection: named, not taken for one.
	_, _, err = One(2, map[string]any{"metadata": map[string]any{"eventType": "AuthActivityAuditEvent"}, "event": map[string]any{"UserId": "x"}}, FormatCrowdStrike)
	if ce, ok := err.(*Error); !ok || ce.Path != "metadata.eventType" {
		t.Errorf("an audit event as crowdstrike: %v, want an error at metadata.eventType", err)
	}
}
