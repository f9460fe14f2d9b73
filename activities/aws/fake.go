package aws

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/labkit"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// AWS fake: the IAM, EC2 and STS subset the aws connector uses, in the
// query protocols the SDK for Go v2 sends (none of the three uses awsJson:
// a request with X-Amz-Target is refused; Version must be the service's) (POST form Action=…&Version=…;
// IAM and STS answer <XResponse><XResult>…, EC2 answers ec2query XML with
// <item> lists and lower-camel names; errors are <ErrorResponse><Error>
// for IAM/STS and <Response><Errors><Error> for EC2, with the codes of the
// API references: NoSuchEntity, InvalidInstanceID.NotFound,
// InvalidGroup.NotFound, InvalidParameterValue, SignatureDoesNotMatch,
// InvalidClientTokenId). Every request must carry a valid Signature
// Version 4 signature (recomputed here with the SDK's signer) from the
// lab access key or from temporary credentials STS AssumeRole issued.
//
// Served under /aws/iam/, /aws/ec2/ and /aws/sts/ (region us-east-1).

// Lab AWS credentials: public test constants.
const (
	LabAccessKeyID = "AKIALABRIPOSTE000001"
	awsSecretKey   = "lab-aws-secret-access-key"
	LabAccount     = "111122223333"
	// LabQuarantineGroup is the lab's quarantine security group.
	LabQuarantineGroup = "sg-0badc0ffee0000001"
	// LabInstance is the lab's EC2 instance (two network interfaces).
	LabInstance = "i-0abc12345def67890"
	// LabUser and LabUserKey are an IAM user and its active access key.
	LabUser    = "ci-deployer"
	LabUserKey = "AKIAEXAMPLECIDEPLOY1"
	// LabRole is an IAM role whose sessions can be revoked.
	LabRole = "app-server-role"
)

type awsState struct {
	keys      map[string]*awsKey           // access key id -> key
	roles     map[string]map[string]string // role -> inline policy name -> document
	instances map[string]*awsInstance
	groups    map[string]string // sg id -> name
	snapshots []*awsSnapshot
	sessions  map[string]awsSession // temporary access key id -> session
	seq       int
}

type awsKey struct {
	user, id, status string
	created          time.Time
}

type awsInstance struct {
	id      string
	enis    []*awsENI
	volumes []string
	tags    map[string]string
}

type awsENI struct {
	id     string
	groups []string
}

type awsSnapshot struct {
	id, volume, instance, description string
	tags                              map[string]string
	started                           time.Time
}

type awsSession struct {
	secret, token, role string
	expires             time.Time
}

func newAWSState() *awsState {
	return &awsState{
		keys:  map[string]*awsKey{LabUserKey: {user: LabUser, id: LabUserKey, status: "Active", created: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}},
		roles: map[string]map[string]string{LabRole: {}, "riposte-responder": {}},
		instances: map[string]*awsInstance{LabInstance: {id: LabInstance,
			enis:    []*awsENI{{id: "eni-0aaa11112222333a", groups: []string{"sg-0eb00000000000001", "sg-05550000000000001"}}, {id: "eni-0bbb11112222333b", groups: []string{"sg-0db00000000000001"}}},
			volumes: []string{"vol-0root0000000001", "vol-0data0000000001"},
			tags:    map[string]string{"Name": "web-prod-01"}}},
		groups:   map[string]string{"sg-0eb00000000000001": "web", "sg-05550000000000001": "ssh", "sg-0db00000000000001": "db", LabQuarantineGroup: "quarantine"},
		sessions: map[string]awsSession{},
	}
}

// InstanceGroups returns the security groups of each network interface
// of an instance, by interface id.
func (fk *Fake) InstanceGroups(id string) map[string][]string {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	out := map[string][]string{}
	if in := fk.instances[id]; in != nil {
		for _, e := range in.enis {
			out[e.id] = append([]string(nil), e.groups...)
		}
	}
	return out
}

// KeyStatus is an access key's status (Active, Inactive) or "".
func (fk *Fake) KeyStatus(id string) string {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	if k := fk.keys[id]; k != nil {
		return k.status
	}
	return ""
}

// RolePolicies returns a role's inline policies (name -> document).
func (fk *Fake) RolePolicies(role string) map[string]string {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	out := map[string]string{}
	for k, v := range fk.roles[role] {
		out[k] = v
	}
	return out
}

// Snapshots counts the snapshots taken of an instance's volumes.
func (fk *Fake) Snapshots(instance string) int {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	n := 0
	for _, s := range fk.snapshots {
		if s.instance == instance {
			n++
		}
	}
	return n
}

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
				fk.awsIAM(w, r, action, form)
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

const iamNS = `xmlns="https://iam.amazonaws.com/doc/2010-05-08/"`

func iamOK(w http.ResponseWriter, action, result string) {
	res := ""
	if result != "" {
		res = "<" + action + "Result>" + result + "</" + action + "Result>"
	}
	awsXML(w, http.StatusOK, fmt.Sprintf(`<%sResponse %s>%s<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, action, iamNS, res, awsReqID(), action))
}

func (fk *Fake) awsIAM(w http.ResponseWriter, r *http.Request, action string, f url.Values) {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	noSuch := func(what string) { awsQueryError(w, http.StatusNotFound, "Sender", "NoSuchEntity", what) }
	switch action {
	case "ListAccessKeys":
		user := f.Get("UserName")
		var b strings.Builder
		for _, id := range labkit.SortedKeys(fk.keys) {
			k := fk.keys[id]
			if user != "" && k.user != user {
				continue
			}
			fmt.Fprintf(&b, "<member><UserName>%s</UserName><AccessKeyId>%s</AccessKeyId><Status>%s</Status><CreateDate>%s</CreateDate></member>", k.user, k.id, k.status, k.created.Format(time.RFC3339))
		}
		if user != "" && user != LabUser {
			noSuch("The user with name " + user + " cannot be found.")
			return
		}
		iamOK(w, action, "<AccessKeyMetadata>"+b.String()+"</AccessKeyMetadata><IsTruncated>false</IsTruncated>")
	case "UpdateAccessKey":
		k := fk.keys[f.Get("AccessKeyId")]
		if k == nil || (f.Get("UserName") != "" && f.Get("UserName") != k.user) {
			noSuch("The Access Key with id " + f.Get("AccessKeyId") + " cannot be found.")
			return
		}
		st := f.Get("Status")
		if st != "Active" && st != "Inactive" {
			awsQueryError(w, http.StatusBadRequest, "Sender", "ValidationError", "1 validation error detected: Value at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]")
			return
		}
		changed := k.status != st
		k.status = st
		op := "disable_access_key"
		if st == "Active" {
			op = "enable_access_key"
		}
		fk.Record(r, vendorName, op, k.id, changed, http.StatusOK, "user "+k.user)
		iamOK(w, action, "")
	case "GetRolePolicy":
		pol, ok := fk.roles[f.Get("RoleName")]
		if !ok {
			noSuch("The role with name " + f.Get("RoleName") + " cannot be found.")
			return
		}
		doc, ok := pol[f.Get("PolicyName")]
		if !ok {
			noSuch("The role policy with name " + f.Get("PolicyName") + " cannot be found.")
			return
		}
		// IAM returns the document URL-encoded (RFC 3986).
		iamOK(w, action, fmt.Sprintf("<RoleName>%s</RoleName><PolicyName>%s</PolicyName><PolicyDocument>%s</PolicyDocument>", esc(f.Get("RoleName")), esc(f.Get("PolicyName")), esc(url.QueryEscape(doc))))
	case "PutRolePolicy":
		pol, ok := fk.roles[f.Get("RoleName")]
		if !ok {
			noSuch("The role with name " + f.Get("RoleName") + " cannot be found.")
			return
		}
		doc := f.Get("PolicyDocument")
		if !strings.Contains(doc, `"Statement"`) {
			awsQueryError(w, http.StatusBadRequest, "Sender", "MalformedPolicyDocument", "Syntax errors in policy.")
			return
		}
		changed := pol[f.Get("PolicyName")] != doc
		pol[f.Get("PolicyName")] = doc
		fk.Record(r, vendorName, "put_role_policy", f.Get("RoleName"), changed, http.StatusOK, f.Get("PolicyName"))
		iamOK(w, action, "")
	case "DeleteRolePolicy":
		pol, ok := fk.roles[f.Get("RoleName")]
		if !ok {
			noSuch("The role with name " + f.Get("RoleName") + " cannot be found.")
			return
		}
		if _, ok := pol[f.Get("PolicyName")]; !ok {
			noSuch("The role policy with name " + f.Get("PolicyName") + " cannot be found.")
			return
		}
		delete(pol, f.Get("PolicyName"))
		fk.Record(r, vendorName, "delete_role_policy", f.Get("RoleName"), true, http.StatusOK, f.Get("PolicyName"))
		iamOK(w, action, "")
	case "GetUser":
		iamOK(w, action, fmt.Sprintf("<User><UserName>riposte</UserName><UserId>AIDALAB</UserId><Arn>arn:aws:iam::%s:user/riposte</Arn><Path>/</Path><CreateDate>2025-01-01T00:00:00Z</CreateDate></User>", LabAccount))
	default:
		awsQueryError(w, http.StatusBadRequest, "Sender", "InvalidAction", "The action "+action+" is not valid for this web service (lab subset).")
	}
}

func (fk *Fake) awsSTS(w http.ResponseWriter, r *http.Request, action string, f url.Values) {
	switch action {
	case "GetCallerIdentity":
		awsXML(w, http.StatusOK, fmt.Sprintf(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::%s:user/riposte</Arn><UserId>AIDALAB</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, LabAccount, LabAccount, awsReqID()))
	case "AssumeRole":
		arn := f.Get("RoleArn")
		role, ok := strings.CutPrefix(arn, "arn:aws:iam::"+LabAccount+":role/")
		fk.Mu.Lock()
		defer fk.Mu.Unlock()
		if _, known := fk.roles[role]; !ok || !known {
			awsQueryError(w, http.StatusForbidden, "Sender", "AccessDenied", "User is not authorized to perform: sts:AssumeRole on resource: "+arn)
			return
		}
		if f.Get("RoleSessionName") == "" {
			awsQueryError(w, http.StatusBadRequest, "Sender", "ValidationError", "RoleSessionName is required")
			return
		}
		fk.seq++
		akid := fmt.Sprintf("ASIALAB%013d", fk.seq)
		sess := awsSession{secret: labkit.StableID("sts-secret"+akid, 40), token: "lab-session-" + labkit.StableID("sts-token"+akid, 32), role: role, expires: time.Now().Add(time.Hour)}
		fk.sessions[akid] = sess
		awsXML(w, http.StatusOK, fmt.Sprintf(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::%s:assumed-role/%s/%s</Arn><AssumedRoleId>AROALAB:%s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></AssumeRoleResponse>`,
			akid, sess.secret, sess.token, sess.expires.UTC().Format(time.RFC3339), LabAccount, role, esc(f.Get("RoleSessionName")), esc(f.Get("RoleSessionName")), awsReqID()))
	default:
		awsQueryError(w, http.StatusBadRequest, "Sender", "InvalidAction", "The action "+action+" is not valid for this web service (lab subset).")
	}
}

const ec2NS = `xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"`

// indexed reads Prefix.1, Prefix.2, … from an EC2 query form.
func indexed(f url.Values, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := f[prefix+"."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

func (fk *Fake) awsEC2(w http.ResponseWriter, r *http.Request, action string, f url.Values) {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	ok := func(inner string) {
		awsXML(w, http.StatusOK, fmt.Sprintf(`<%sResponse %s><requestId>%s</requestId>%s</%sResponse>`, action, ec2NS, awsReqID(), inner, action))
	}
	tagSet := func(tags map[string]string) string {
		var b strings.Builder
		b.WriteString("<tagSet>")
		for _, k := range labkit.SortedKeys(tags) {
			fmt.Fprintf(&b, "<item><key>%s</key><value>%s</value></item>", esc(k), esc(tags[k]))
		}
		b.WriteString("</tagSet>")
		return b.String()
	}
	if f.Get("DryRun") == "true" {
		// "Request would have succeeded, but DryRun flag is set." (412)
		ec2Error(w, http.StatusPreconditionFailed, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
		return
	}
	switch action {
	case "DescribeInstances":
		ids := indexed(f, "InstanceId")
		var b strings.Builder
		for _, id := range ids {
			in := fk.instances[id]
			if in == nil {
				ec2Error(w, http.StatusBadRequest, "InvalidInstanceID.NotFound", fmt.Sprintf("The instance ID '%s' does not exist", id))
				return
			}
			fmt.Fprintf(&b, "<item><reservationId>r-0lab%s</reservationId><ownerId>%s</ownerId><instancesSet><item><instanceId>%s</instanceId><instanceState><code>16</code><name>running</name></instanceState><networkInterfaceSet>", labkit.StableID(id, 8), LabAccount, id)
			for _, e := range in.enis {
				fmt.Fprintf(&b, "<item><networkInterfaceId>%s</networkInterfaceId><groupSet>", e.id)
				for _, g := range e.groups {
					fmt.Fprintf(&b, "<item><groupId>%s</groupId><groupName>%s</groupName></item>", g, fk.groups[g])
				}
				b.WriteString("</groupSet></item>")
			}
			b.WriteString("</networkInterfaceSet><blockDeviceMapping>")
			for i, v := range in.volumes {
				fmt.Fprintf(&b, "<item><deviceName>/dev/xvd%c</deviceName><ebs><volumeId>%s</volumeId><status>attached</status></ebs></item>", 'a'+i, v)
			}
			b.WriteString("</blockDeviceMapping>" + tagSet(in.tags) + "</item></instancesSet></item>")
		}
		ok("<reservationSet>" + b.String() + "</reservationSet>")
	case "ModifyNetworkInterfaceAttribute":
		var eni *awsENI
		for _, in := range fk.instances {
			for _, e := range in.enis {
				if e.id == f.Get("NetworkInterfaceId") {
					eni = e
				}
			}
		}
		if eni == nil {
			ec2Error(w, http.StatusBadRequest, "InvalidNetworkInterfaceID.NotFound", fmt.Sprintf("The networkInterface ID '%s' does not exist", f.Get("NetworkInterfaceId")))
			return
		}
		groups := indexed(f, "SecurityGroupId")
		if len(groups) == 0 {
			ec2Error(w, http.StatusBadRequest, "InvalidParameterCombination", "No attributes specified.")
			return
		}
		for _, g := range groups {
			if _, known := fk.groups[g]; !known {
				ec2Error(w, http.StatusBadRequest, "InvalidGroup.NotFound", fmt.Sprintf("The security group '%s' does not exist", g))
				return
			}
		}
		changed := strings.Join(eni.groups, ",") != strings.Join(groups, ",")
		eni.groups = groups
		fk.Record(r, vendorName, "set_security_groups", eni.id, changed, http.StatusOK, strings.Join(groups, ","))
		ok("<return>true</return>")
	case "CreateTags", "DeleteTags":
		for _, id := range indexed(f, "ResourceId") {
			in := fk.instances[id]
			if in == nil {
				ec2Error(w, http.StatusBadRequest, "InvalidID", fmt.Sprintf("The ID '%s' is not valid", id))
				return
			}
			for i := 1; ; i++ {
				k, has := f[fmt.Sprintf("Tag.%d.Key", i)]
				if !has {
					break
				}
				if action == "CreateTags" {
					in.tags[k[0]] = f.Get(fmt.Sprintf("Tag.%d.Value", i))
				} else {
					delete(in.tags, k[0])
				}
			}
		}
		ok("<return>true</return>")
	case "CreateSnapshots":
		in := fk.instances[f.Get("InstanceSpecification.InstanceId")]
		if in == nil {
			ec2Error(w, http.StatusBadRequest, "InvalidInstanceID.NotFound", fmt.Sprintf("The instance ID '%s' does not exist", f.Get("InstanceSpecification.InstanceId")))
			return
		}
		tags := map[string]string{}
		for i := 1; ; i++ {
			k, has := f[fmt.Sprintf("TagSpecification.1.Tag.%d.Key", i)]
			if !has {
				break
			}
			tags[k[0]] = f.Get(fmt.Sprintf("TagSpecification.1.Tag.%d.Value", i))
		}
		var b strings.Builder
		for _, v := range in.volumes {
			fk.seq++
			s := &awsSnapshot{id: fmt.Sprintf("snap-0lab%012d", fk.seq), volume: v, instance: in.id, description: f.Get("Description"), tags: tags, started: time.Now().UTC()}
			fk.snapshots = append(fk.snapshots, s)
			fmt.Fprintf(&b, "<item><snapshotId>%s</snapshotId><volumeId>%s</volumeId><state>pending</state><startTime>%s</startTime><description>%s</description>%s</item>", s.id, v, s.started.Format(time.RFC3339), esc(s.description), tagSet(tags))
			fk.Record(r, vendorName, "snapshot", in.id, true, http.StatusOK, s.id+" of "+v)
		}
		ok("<snapshotSet>" + b.String() + "</snapshotSet>")
	case "DescribeSnapshots":
		want := map[string]string{}
		for i := 1; ; i++ {
			n, has := f[fmt.Sprintf("Filter.%d.Name", i)]
			if !has {
				break
			}
			want[n[0]] = f.Get(fmt.Sprintf("Filter.%d.Value.1", i))
		}
		var b strings.Builder
		snaps := append([]*awsSnapshot(nil), fk.snapshots...)
		sort.Slice(snaps, func(i, j int) bool { return snaps[i].id < snaps[j].id })
		for _, s := range snaps {
			match := true
			for k, v := range want {
				switch {
				case strings.HasPrefix(k, "tag:"):
					match = match && s.tags[strings.TrimPrefix(k, "tag:")] == v
				case k == "volume-id":
					match = match && s.volume == v
				}
			}
			if match {
				fmt.Fprintf(&b, "<item><snapshotId>%s</snapshotId><volumeId>%s</volumeId><state>completed</state><startTime>%s</startTime>%s</item>", s.id, s.volume, s.started.Format(time.RFC3339), tagSet(s.tags))
			}
		}
		ok("<snapshotSet>" + b.String() + "</snapshotSet>")
	case "DescribeSecurityGroups":
		var b strings.Builder
		ids := indexed(f, "GroupId")
		for _, g := range ids {
			name, known := fk.groups[g]
			if !known {
				ec2Error(w, http.StatusBadRequest, "InvalidGroup.NotFound", fmt.Sprintf("The security group '%s' does not exist", g))
				return
			}
			fmt.Fprintf(&b, "<item><groupId>%s</groupId><groupName>%s</groupName><ownerId>%s</ownerId></item>", g, name, LabAccount)
		}
		ok("<securityGroupInfo>" + b.String() + "</securityGroupInfo>")
	default:
		ec2Error(w, http.StatusBadRequest, "InvalidAction", "The action "+action+" is not valid for this web service (lab subset).")
	}
}

// vendorName is the fake's name: the connection type, the key of its
// faults, calls and requests.
const vendorName = "aws"

// Fake is the lab's AWS fake (see the top of this file).
type Fake struct {
	labkit.Base
	*awsState
}

// NewFake returns the fake, serving on the lab of k.
func NewFake(k *labkit.Kit) *Fake {
	return &Fake{Base: labkit.NewBase(k, vendorName), awsState: newAWSState()}
}

// Connections implements labkit.Fake. AWS takes per-service endpoints
// instead of a base URL.
func (fk *Fake) Connections() map[string]connector.Connection {
	return map[string]connector.Connection{
		vendorName: {Type: vendorName,
			Options: map[string]string{"region": "us-east-1", "access_key_id": LabAccessKeyID,
				"iam_endpoint": fk.URL + "/aws/iam", "ec2_endpoint": fk.URL + "/aws/ec2", "sts_endpoint": fk.URL + "/aws/sts",
				"quarantine_security_group": LabQuarantineGroup},
			Secrets: map[string]connector.SecretRef{"secret_access_key": labkit.Lit(awsSecretKey)}},
	}
}

// AddRole adds an IAM role, as a real account holds the roles its
// GuardDuty findings name. Adding a role that exists is a no-op.
func (fk *Fake) AddRole(name string) {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	if _, ok := fk.roles[name]; !ok {
		fk.roles[name] = map[string]string{}
	}
}
