package intake

import "fmt"

// MaxIDLen bounds, in bytes, the finding's uid: it becomes the DetectionID
// search attribute (Temporal refuses long keyword values, which used to
// fail the whole request) and the key runs are found by on updates and
// withdrawals. A longer uid is not truncated (two findings would share a
// run) but refused, for that detection only.
const MaxIDLen = 1024

// IDErrors returns the errors of detection idx's identifiers that exceed
// MaxIDLen, naming the field ("finding_info.uid", or "finding.uid" for an
// OCSF 1.0 Security Finding); nil when they fit.
func IDErrors(idx int, d Detection) []FieldError {
	path := "finding_info.uid"
	uid, ok := d.str("finding_info", "uid")
	if !ok && d.IsSecurityFinding() {
		path = "finding.uid"
		uid, _ = d.str("finding", "uid")
	}
	if len(uid) <= MaxIDLen {
		return nil
	}
	return []FieldError{{Index: idx, Path: path, Message: fmt.Sprintf("is %d bytes; the limit is %d (this detection was refused; the others of the request were processed)", len(uid), MaxIDLen)}}
}
