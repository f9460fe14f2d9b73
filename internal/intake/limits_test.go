package intake

import (
	"strings"
	"testing"

	"go.temporal.io/sdk/converter"
)

// temporalValueLimit is the Temporal frontend's default limit on one
// search attribute value (frontend.searchAttributesSizeOfValueLimit, 2 KiB),
// which it checks on the value as encoded (len of the payload's data:
// common/searchattribute/validator.go, ValidateSize).
const temporalValueLimit = 2 * 1024

// README, Security model: a finding's uid "becomes the DetectionID search
// attribute ... so it is at most 1 KiB: a longer one refuses that detection
// alone — its entry in detections has "status": 400 and problems naming
// the field path". The SDK encodes the attribute as JSON, where < > & and
// control characters take 6 bytes and " and \ take 2: a 400-byte uid of
// '<' is 2402 bytes encoded, which Temporal refused (riposte dev answered
// 400 "Temporal refused it as invalid: starting playbook … for detection
// "<<<<…"", with no field path and the whole uid quoted). A uid the intake
// accepts must fit once encoded; one that does not is refused naming the
// field, like an over-long one.
func TestIDErrorsBoundTheEncodedDetectionID(t *testing.T) {
	for _, uid := range []string{
		strings.Repeat("<", 400),
		strings.Repeat("&", MaxIDLen),
		strings.Repeat("\x01", 350),
		strings.Repeat(`"`, MaxIDLen),
		strings.Repeat("a", MaxIDLen),
		"ldt:4f9b2c2e0a7d4e8f:8590303812",
	} {
		p, err := converter.GetDefaultDataConverter().ToPayload(uid)
		if err != nil {
			t.Fatal(err)
		}
		fits := len(p.GetData()) <= temporalValueLimit
		errs := IDErrors(0, Detection{"finding_info": map[string]any{"uid": uid}})
		switch {
		case fits && errs != nil:
			t.Errorf("uid %.20q… (%d bytes, %d encoded) refused: %+v", uid, len(uid), len(p.GetData()), errs)
		case !fits && (len(errs) != 1 || errs[0].Path != "finding_info.uid" || !strings.Contains(errs[0].Message, "encoded")):
			t.Errorf("uid %.20q… (%d bytes, %d encoded, over Temporal's %d-byte limit for a search attribute value) accepted or refused without saying why: %+v",
				uid, len(uid), len(p.GetData()), temporalValueLimit, errs)
		}
	}
}
