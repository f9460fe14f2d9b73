package finding

import "testing"

// OCSF 1.1+ Detection Finding status_id 5 "Archived" and 6 "Deleted: The
// Finding was deleted. For example, it might have been created in error."
// (schema.ocsf.io/1.1.0/classes/detection_finding) end the finding; a 1.0
// Security Finding's status_id (the event's 1 Success, 2 Failure) does not.
func TestArchivedAndDeletedWithdraw(t *testing.T) {
	for _, det := range []map[string]any{
		{"class_uid": 2004, "severity_id": 5, "status_id": 6},
		{"class_uid": 2004, "severity_id": 5, "status_id": 5},
		{"class_uid": 2004, "severity_id": 5, "status_id": 99, "status": "Deleted"},
		{"class_uid": 2004, "severity_id": 5, "status_id": 99, "status": "Archived"},
	} {
		v := Build(det, DefaultConfig())
		if v["state"] != StateWithdrawn {
			t.Errorf("%v: state %v (status %v); a deleted finding is active", det, v["state"], v["status"])
		}
	}
	for _, id := range []int{1, 2} {
		v := Build(map[string]any{"class_uid": 2001, "severity_id": 5, "status_id": id, "state_id": 1}, DefaultConfig())
		if v["state"] != StateActive {
			t.Errorf("2001 with event status_id %d: state %v, want active", id, v["state"])
		}
	}
}

// OCSF 1.0 Security Finding (2001): the finding's state is state_id
// (1 New … 4 Resolved); status_id is the base event's status (1 Success,
// 2 Failure). docs/detections.md: finding.status is the caption of
// "status_id (2001: state_id)".
func TestSecurityFindingStatusIsStateID(t *testing.T) {
	det := map[string]any{"class_uid": 2001, "severity_id": 4, "status_id": 1, "status": "Success", "state_id": 4, "state": "Resolved",
		"finding": map[string]any{"uid": "x", "title": "t"}}
	v := Build(det, DefaultConfig())
	if v["status"] != "Resolved" {
		t.Errorf("2001 record state_id 4 (Resolved), event status_id 1 (Success): finding.status %q, state %v", v["status"], v["state"])
	}
}
