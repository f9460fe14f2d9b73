package aws_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/connectortest"
)

// The fake checks signatures with the SDK's signer; AWS's documented
// example proves that signer computes SigV4 as AWS does (testdata/README.md).
func TestSigV4DocumentedExample(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	at := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	creds := awssdk.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, emptySHA256, "iam", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	want := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
	if got := req.Header.Get("Authorization"); got != want {
		t.Fatalf("Authorization = %s\nwant %s", got, want)
	}
}

// No service the connector calls uses an awsJson protocol at the go.mod
// versions: IAM's client is built on awsquery (its protocol is an option
// of the schema-serde client, checked here); STS and EC2 have generated
// query/ec2query serializers, checked by the requests below.
func TestSDKProtocolsAreQuery(t *testing.T) {
	c := iam.New(iam.Options{Region: "us-east-1"})
	if _, ok := c.Options().Protocol.(*awsquery.Protocol); !ok {
		t.Fatalf("IAM client protocol is %T, not awsquery: the lab fake (query only) must learn it", c.Options().Protocol)
	}
}

// The connector on AWS's documented IAM answers, and the requests the SDK
// sends for them: query protocol, form body, SigV4 for iam in the region.
func TestDocumentedSamples(t *testing.T) {
	list, err := os.ReadFile("testdata/iam-listaccesskeys.xml")
	if err != nil {
		t.Fatal(err)
	}
	update, err := os.ReadFile("testdata/iam-updateaccesskey.xml")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		if ct := r.Header.Get("Content-Type"); r.Method != http.MethodPost || !strings.HasPrefix(ct, "application/x-www-form-urlencoded") ||
			r.Header.Get("X-Amz-Target") != "" || form.Get("Version") != "2010-05-08" {
			t.Errorf("not an awsQuery request: %s %s %q", r.Method, r.Header.Get("Content-Type"), body)
		}
		if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/") ||
			!strings.Contains(auth, "/us-east-1/iam/aws4_request") || !strings.Contains(auth, "x-amz-date") {
			t.Errorf("Authorization = %s", auth)
		}
		actions = append(actions, form.Get("Action"))
		w.Header().Set("Content-Type", "text/xml")
		switch form.Get("Action") {
		case "ListAccessKeys":
			_, _ = w.Write(list)
		case "UpdateAccessKey":
			if form.Get("AccessKeyId") != "AKIAIOSFODNN7EXAMPLE" || form.Get("Status") != "Inactive" || form.Get("UserName") != "Bob" {
				t.Errorf("UpdateAccessKey %v", form)
			}
			_, _ = w.Write(update)
		default:
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	h := connectortest.New(t)
	h.Env.Connections["aws"] = activities.Connection{Type: "aws",
		Options: map[string]string{"region": "us-east-1", "access_key_id": "AKIAIOSFODNN7EXAMPLE", "iam_endpoint": srv.URL, "ec2_endpoint": srv.URL, "sts_endpoint": srv.URL},
		Secrets: map[string]activities.SecretRef{"secret_access_key": {Lab: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}}
	out := h.MustRun("aws.disable_access_key", map[string]any{"access_key_id": "AKIAIOSFODNN7EXAMPLE", "user_name": "Bob"}, "k1")
	if out["status"] != "Inactive" || out["already"] != false || out["user_name"] != "Bob" {
		t.Fatalf("out = %v", out)
	}
	// The documented Inactive key is already inactive: nothing is sent.
	out = h.MustRun("aws.disable_access_key", map[string]any{"access_key_id": "AKIAI44QH8DHBEXAMPLE", "user_name": "Bob"}, "k2")
	if out["already"] != true || strings.Join(actions, ",") != "ListAccessKeys,UpdateAccessKey,ListAccessKeys" {
		t.Fatalf("out = %v, actions %v", out, actions)
	}
}

// The fake speaks only what the real services speak: an awsJson request
// (X-Amz-Target) and a query request of another API version are refused.
func TestFakeRefusesOtherProtocols(t *testing.T) {
	h := connectortest.New(t)
	conn := h.Lab.Connections()["aws"]
	creds := awssdk.Credentials{AccessKeyID: conn.Options["access_key_id"], SecretAccessKey: conn.Secrets["secret_access_key"].Lab}
	send := func(body string, header map[string]string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, conn.Options["iam_endpoint"], strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		sum := v4.NewSigner()
		_ = sum.SignHTTP(context.Background(), creds, req, sha256Hex(body), "iam", "us-east-1", time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
	if code, body := send("Action=ListAccessKeys&Version=2010-05-08", form); code != 200 || !strings.Contains(body, "<ListAccessKeysResult>") {
		t.Fatalf("signed query request: %d %s", code, body)
	}
	if code, body := send(`{}`, map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSIdentityManagementV20100508.ListAccessKeys"}); code != 400 || !strings.Contains(body, "InvalidAction") {
		t.Errorf("awsJson request: %d %s", code, body)
	}
	if code, body := send("Action=ListAccessKeys&Version=2011-06-15", form); code != 400 || !strings.Contains(body, "NoSuchVersion") {
		t.Errorf("wrong version: %d %s", code, body)
	}
	if code, body := send("Action=ListAccessKeys", form); code != 400 || !strings.Contains(body, "MissingParameter") {
		t.Errorf("no version: %d %s", code, body)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
