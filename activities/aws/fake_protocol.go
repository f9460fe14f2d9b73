package aws

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/riposte-dev/riposte/internal/labkit"
)

func awsReqID() string { return labkit.GUID(fmt.Sprint(time.Now().UnixNano())) }

func awsXML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", awsReqID())
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+body)
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// awsQueryError is the IAM/STS error shape.
func awsQueryError(w http.ResponseWriter, status int, kind, code, msg string) {
	awsXML(w, status, fmt.Sprintf(`<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, kind, code, esc(msg), awsReqID()))
}

// ec2Error is the EC2 error shape.
func ec2Error(w http.ResponseWriter, status int, code, msg string) {
	awsXML(w, status, fmt.Sprintf(`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`, code, esc(msg), awsReqID()))
}

func awsFault(service string) labkit.FaultWriter {
	return func(w http.ResponseWriter, f *labkit.Fault) {
		code, msg := "InternalFailure", "We encountered an internal error. Please try again."
		switch f.Status {
		case http.StatusTooManyRequests, http.StatusBadRequest:
			code, msg = "Throttling", "Rate exceeded"
			if service == "ec2" {
				code = "RequestLimitExceeded"
			}
		case http.StatusUnauthorized, http.StatusForbidden:
			code, msg = "InvalidClientTokenId", "The security token included in the request is invalid."
			if service == "ec2" {
				code = "AuthFailure"
			}
		}
		if service == "ec2" {
			ec2Error(w, f.Status, code, msg)
			return
		}
		awsQueryError(w, f.Status, "Sender", code, msg)
	}
}

// awsVerify checks the request's SigV4 signature by signing a copy with
// the same credentials, time and signed headers; it returns the access key
// id, or writes the AWS error and returns "".
func (fk *Fake) awsVerify(w http.ResponseWriter, r *http.Request, body []byte, service string) string {
	fail := func(code, msg string) string {
		if service == "ec2" {
			ec2Error(w, http.StatusUnauthorized, code, msg)
		} else {
			awsQueryError(w, http.StatusForbidden, "Sender", code, msg)
		}
		return ""
	}
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return fail("MissingAuthenticationToken", "Request is missing Authentication Token")
	}
	parts := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[k] = v
	}
	scope := strings.Split(parts["Credential"], "/")
	if len(scope) != 5 || scope[3] != service || scope[4] != "aws4_request" {
		return fail("IncompleteSignature", "Credential scope must be AKID/date/region/"+service+"/aws4_request")
	}
	akid, region := scope[0], scope[2]
	creds := aws.Credentials{AccessKeyID: akid}
	fk.Mu.Lock()
	switch sess, isSess := fk.sessions[akid]; {
	case akid == LabAccessKeyID:
		creds.SecretAccessKey = awsSecretKey
	case isSess && time.Now().Before(sess.expires):
		creds.SecretAccessKey, creds.SessionToken = sess.secret, sess.token
	}
	fk.Mu.Unlock()
	if creds.SecretAccessKey == "" {
		return fail("InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	if creds.SessionToken != "" && r.Header.Get("X-Amz-Security-Token") != creds.SessionToken {
		return fail("InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || time.Since(at).Abs() > 15*time.Minute {
		return fail("SignatureDoesNotMatch", "Signature expired or X-Amz-Date missing")
	}
	cp, _ := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	cp.ContentLength = r.ContentLength
	for _, h := range strings.Split(parts["SignedHeaders"], ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		cp.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, cp, hex.EncodeToString(sum[:]), service, region, at); err != nil {
		return fail("SignatureDoesNotMatch", err.Error())
	}
	want := cp.Header.Get("Authorization")
	if want != auth {
		return fail("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
	}
	return akid
}

// Routes implements labkit.Fake.
func (fk *Fake) Routes(mux *http.ServeMux) {
	for _, svc := range []string{"iam", "ec2", "sts"} {
		svc := svc
		classify := func(r *http.Request) labkit.RouteKind {
			// Read the body without consuming it: the signature covers
			// its exact bytes.
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			if f, err := url.ParseQuery(string(b)); err == nil && awsMutating[f.Get("Action")] {
				return labkit.MutateRoute
			}
			return labkit.ReadRoute
		}
		handler := func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if target := r.Header.Get("X-Amz-Target"); target != "" {
				// The awsJson protocols name the operation in X-Amz-Target;
				// IAM, STS and EC2 speak the query protocols only (README).
				awsQueryError(w, http.StatusBadRequest, "Sender", "InvalidAction",
					"X-Amz-Target "+target+": "+svc+" speaks the AWS query protocol (Action=…&Version=… form bodies), not awsJson")
				return
			}
			form, err := url.ParseQuery(string(body))
			if err != nil || !labkit.IsForm(r) {
				awsQueryError(w, http.StatusBadRequest, "Sender", "MalformedQueryString", "the body must be application/x-www-form-urlencoded")
				return
			}
			akid := fk.awsVerify(w, r, body, svc)
			if akid == "" {
				return
			}
			action := form.Get("Action")
			badRequest := func(code, msg string) {
				if svc == "ec2" {
					ec2Error(w, http.StatusBadRequest, code, msg)
					return
				}
				awsQueryError(w, http.StatusBadRequest, "Sender", code, msg)
			}
			switch v := form.Get("Version"); {
			case v == "":
				badRequest("MissingParameter", "The request must contain the parameter Version")
				return
			case v != awsVersions[svc]:
				badRequest("NoSuchVersion", fmt.Sprintf("The requested version (%s) of service %s does not exist", v, svc))
				return
			}
			switch svc {
			case "iam":
				fk.awsIAM(w, r, akid, action, form)
			case "ec2":
				fk.awsEC2(w, r, action, form)
			case "sts":
				fk.awsSTS(w, r, action, form)
			}
		}
		// With or without the trailing slash: riposte.yaml URLs lose it.
		fk.HandleClassified(mux, vendorName, "POST /aws/"+svc+"/{$}", classify, awsFault(svc), handler)
		fk.HandleClassified(mux, vendorName, "POST /aws/"+svc, classify, awsFault(svc), handler)
	}
}

// awsVersions are the API versions of the query protocols (IAM and STS
// awsQuery, EC2 ec2Query), as the SDK's serializers send them.
var awsVersions = map[string]string{"iam": "2010-05-08", "sts": "2011-06-15", "ec2": "2016-11-15"}

var awsMutating = map[string]bool{"UpdateAccessKey": true, "PutRolePolicy": true, "DeleteRolePolicy": true,
	"ModifyNetworkInterfaceAttribute": true, "CreateTags": true, "DeleteTags": true, "CreateSnapshots": true}
