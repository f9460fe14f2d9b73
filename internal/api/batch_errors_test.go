package api

import (
	"encoding/json"
	"testing"
)

// README: bad input is a 400 "naming each bad field". A batch with a
// vendor record that does not fit its format and an OCSF record that fails
// validation must name both: the OCSF record's errors were left out until
// the vendor record was fixed and the batch sent again.
func TestBatchNamesConversionAndValidationErrorsTogether(t *testing.T) {
	srv := newTestServer(t, &fakeStarter{})
	h := srv.Handler()
	badGraph := `{"@odata.type":"#microsoft.graph.security.alert","id":"a1","createdDateTime":"soon"}`
	badOCSF := `{"class_uid":2004,"time":1763458937000,"finding_info":{"uid":"x"},"metadata":{"product":{"name":"p"}}}`
	got := serve(h, post("/v1/detections", "Bearer "+testToken, "["+badGraph+","+det("ok-1", 3, "")+","+badOCSF+"]"))
	var p struct {
		Errors []struct {
			Index   int    `json:"index"`
			Path    string `json:"path"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(got.body), &p); err != nil || got.code != 400 {
		t.Fatalf("%d %s", got.code, got.body)
	}
	named := map[int]string{}
	for _, e := range p.Errors {
		named[e.Index] = e.Path
	}
	if named[0] != "createdDateTime" || named[2] != "severity_id" || len(p.Errors) != 2 {
		t.Errorf("errors %+v, want detection 0 createdDateTime (as graph) and detection 2 severity_id, in index order", p.Errors)
	}
}
