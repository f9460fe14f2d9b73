package intake

import (
	"encoding/json"
	"fmt"
)

// MaxIDLen bounds, in bytes, the finding's uid: it becomes the DetectionID
// search attribute (Temporal refuses long keyword values, which used to
// fail the whole request) and the key runs are found by on updates and
// withdrawals. A longer uid is not truncated (two findings would share a
// run) but refused, for that detection only.
const MaxIDLen = 1024

// MaxIDEncodedLen bounds the uid as Temporal measures it: the frontend's
// default limit on one search attribute value (2 KiB,
// frontend.searchAttributesSizeOfValueLimit) counts the value as the SDK
// encodes it, JSON, where <, > and & and control characters take 6 bytes
// and " and \ take 2. A uid within MaxIDLen may still exceed it.
const MaxIDEncodedLen = 2048

// IDErrors returns the errors of detection idx's identifiers that exceed
// MaxIDLen, or MaxIDEncodedLen once encoded, naming the field
// ("finding_info.uid", or "finding.uid" for an OCSF 1.0 Security Finding);
// nil when they fit.
func IDErrors(idx int, d Detection) []FieldError {
	path := "finding_info.uid"
	uid, ok := d.str("finding_info", "uid")
	if !ok && d.IsSecurityFinding() {
		path = "finding.uid"
		uid, _ = d.str("finding", "uid")
	}
	if len(uid) > MaxIDLen {
		return []FieldError{{Index: idx, Path: path, Message: fmt.Sprintf("is %d bytes; the limit is %d (this detection was refused; the others of the request were processed)", len(uid), MaxIDLen)}}
	}
	if b, _ := json.Marshal(uid); len(b) > MaxIDEncodedLen {
		return []FieldError{{Index: idx, Path: path, Message: fmt.Sprintf("is %d bytes but %d once encoded for Temporal's DetectionID search attribute (JSON: <, >, & and control characters take 6 bytes, \" and \\ 2); the limit is %d encoded (this detection was refused; the others of the request were processed)", len(uid), len(b), MaxIDEncodedLen)}}
	}
	return nil
}
