package connector

import (
	"net/http"
	"strings"
	"testing"
)

// URLs in a vendor's answer carry credentials in two places the redactor
// did not look at: the userinfo (https://user:password@host, RFC 3986
// §3.2.1, deprecated precisely because it leaks; Go's url.URL.Redacted
// hides it) and the query of a pre-signed URL, which is a bearer
// capability until it expires: AWS SigV4 X-Amz-Signature (S3 "Sharing
// objects with presigned URLs"), Azure Storage SAS sig= ("Create a
// service SAS"), Google Cloud Storage X-Goog-Signature, and the token=,
// code= (Azure Functions keys) and key= parameters vendors put API keys
// in.
func TestRedactShapesURLCredentials(t *testing.T) {
	for _, tt := range []struct{ in, gone, keep string }{
		{`proxy http://svc-riposte:Pa55w0rd!x@proxy.corp.example:3128 refused the tunnel`, "Pa55w0rd", "proxy.corp.example:3128 refused the tunnel"},
		{`{"error":"fetch failed","url":"https://admin:hunter2hunter2@10.0.0.5/api"}`, "hunter2hunter2", "10.0.0.5/api"},
		{`download of https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404 failed`,
			"aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", "X-Amz-Expires=86400"},
		{`blob https://myaccount.blob.core.windows.net/sascontainer/sasblob.txt?sv=2019-02-02&st=2019-04-29T22%3A18%3A26Z&se=2019-04-30T02%3A23%3A26Z&sr=b&sp=rw&sig=SrW1HZ5Nb6MbRzTbXCaPm%2BJiSEn15tC91Y4umMPwVZs%3D is gone`,
			"SrW1HZ5Nb6MbRzTbXCaPm", "sr=b&sp=rw"},
		{`https://storage.googleapis.com/example-bucket/cat.jpeg?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=example%40example-project.iam.gserviceaccount.com%2F20181026%2Fus-central1%2Fstorage%2Fgoog4_request&X-Goog-Date=20181026T181309Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host&X-Goog-Signature=247a2aa45f169edf4d187d54e7cc46e4731b1e6273242c4f4c39a1d2507a0e58706e25e3a85a7dbb891d62afa8496def8e260c1db863d9ace85ff0a184b894b117404f6fe5d5b0d3b8b5ec9e0c2db5d3bd7d2c9a3bd2e7f2f8f5c2cbdbd8a7e3d5e1b4a29a0e0d3 expired`,
			"247a2aa45f169edf4d187d54e7cc46e4731b1e6273242c4f4c39a1d2507a0e58", "X-Goog-Expires=900"},
		{`POST https://fn-riposte.azurewebsites.net/api/HttpTrigger1?code=aBcD1234eFgH5678iJkL9012mNoP3456qRsT7890uVwX== returned 500`, "aBcD1234eFgH5678", "returned 500"},
		{`GET https://userrequests-us.securitycenter.windows.com:443/safedownload/WDATP_Investigation_Package.zip?token=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCO5hk3 timed out`, "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCO5hk3", "timed out"},
		{`https://maps.example.com/api?key=AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe&q=x`, "AIzaSyDaGmWKa4JsXZ", "q=x"},
		// Not credentials: kept.
		{`see https://docs.example.com/errors?code=E0000001&lang=en`, "", "code=E0000001"},
		{`user bob@example.com: not found at https://example.okta.com/api/v1/users`, "", "bob@example.com"},
	} {
		got := RedactShapes(tt.in)
		if tt.gone != "" && strings.Contains(got, tt.gone) {
			t.Errorf("RedactShapes(%q)\n = %q: still holds %q", tt.in, got, tt.gone)
		}
		if !strings.Contains(got, tt.keep) {
			t.Errorf("RedactShapes(%q)\n = %q: lost %q", tt.in, got, tt.keep)
		}
	}
}

// The redirect a vendor answers is quoted in the error with its query cut,
// but not its userinfo.
func TestStatusErrorRedirectHidesUserinfo(t *testing.T) {
	c := &Conn{Label: "Jira", Name: "jira", Env: NewEnv(nil)}
	h := http.Header{}
	h.Set("Location", "https://svc:Pa55w0rdZ@sso.example.com/login")
	err := c.StatusError(&Response{Status: http.StatusFound, Header: h}, "", "")
	if err == nil || strings.Contains(err.Error(), "Pa55w0rdZ") || !strings.Contains(err.Error(), "sso.example.com/login") {
		t.Errorf("StatusError: %v", err)
	}
}
