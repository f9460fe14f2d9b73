package aws

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/labkit"
)

const iamNS = `xmlns="https://iam.amazonaws.com/doc/2010-05-08/"`

func iamOK(w http.ResponseWriter, action, result string) {
	res := ""
	if result != "" {
		res = "<" + action + "Result>" + result + "</" + action + "Result>"
	}
	awsXML(w, http.StatusOK, fmt.Sprintf(`<%sResponse %s>%s<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, action, iamNS, res, awsReqID(), action))
}

func (fk *Fake) awsIAM(w http.ResponseWriter, r *http.Request, akid, action string, f url.Values) {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	noSuch := func(what string) { awsQueryError(w, http.StatusNotFound, "Sender", "NoSuchEntity", what) }
	// role is the inline policies of the form's RoleName; false after
	// answering NoSuchEntity.
	role := func() (map[string]string, bool) {
		pol, ok := fk.roles[f.Get("RoleName")]
		if !ok {
			noSuch("The role with name " + f.Get("RoleName") + " cannot be found.")
		}
		return pol, ok
	}
	switch action {
	case "ListAccessKeys":
		// Without UserName, IAM lists the signing user's own keys, and
		// refuses temporary credentials (API reference, ListAccessKeys).
		user := f.Get("UserName")
		if user == "" {
			if _, isSess := fk.sessions[akid]; isSess {
				awsQueryError(w, http.StatusBadRequest, "Sender", "ValidationError", "Must specify userName when calling with non-User credentials")
				return
			}
			user = labCaller
		}
		var b strings.Builder
		for _, id := range labkit.SortedKeys(fk.keys) {
			k := fk.keys[id]
			if k.user != user {
				continue
			}
			fmt.Fprintf(&b, "<member><UserName>%s</UserName><AccessKeyId>%s</AccessKeyId><Status>%s</Status><CreateDate>%s</CreateDate></member>", k.user, k.id, k.status, k.created.Format(time.RFC3339))
		}
		if user != LabUser && user != labCaller {
			noSuch("The user with name " + user + " cannot be found.")
			return
		}
		iamOK(w, action, "<AccessKeyMetadata>"+b.String()+"</AccessKeyMetadata><IsTruncated>false</IsTruncated>")
	case "GetAccessKeyLastUsed":
		// Any key of the account, with its owner. IAM documents no error
		// for a key it does not know; it answers AccessDenied, as for a
		// resource the caller may not read.
		k := fk.keys[f.Get("AccessKeyId")]
		if k == nil {
			awsQueryError(w, http.StatusForbidden, "Sender", "AccessDenied", "User: arn:aws:iam::"+LabAccount+":user/"+labCaller+" is not authorized to perform: iam:GetAccessKeyLastUsed on resource: access key "+f.Get("AccessKeyId"))
			return
		}
		iamOK(w, action, fmt.Sprintf("<AccessKeyLastUsed><Region>us-east-1</Region><ServiceName>s3</ServiceName><LastUsedDate>%s</LastUsedDate></AccessKeyLastUsed><UserName>%s</UserName>", k.created.Add(24*time.Hour).Format(time.RFC3339), k.user))
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
		pol, ok := role()
		if !ok {
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
		pol, ok := role()
		if !ok {
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
		pol, ok := role()
		if !ok {
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
