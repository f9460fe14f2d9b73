package aws

import (
	"time"

	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/labkit"
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
	// LabForensicsGroup is a second quarantine group (one that lets a
	// forensics tool in), as a playbook's quarantine_security_group.
	LabForensicsGroup = "sg-0f0e45c0000000001"
	// LabInstance is the lab's EC2 instance (two network interfaces).
	LabInstance = "i-0abc12345def67890"
	// LabUser and LabUserKey are an IAM user and its active access key.
	LabUser    = "ci-deployer"
	LabUserKey = "AKIAEXAMPLECIDEPLOY1"
	// LabRole is an IAM role whose sessions can be revoked.
	LabRole = "app-server-role"
	// labCaller is the IAM user of LabAccessKeyID (GetUser, GetCallerIdentity).
	labCaller = "riposte"
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
		keys: map[string]*awsKey{
			LabUserKey:     {user: LabUser, id: LabUserKey, status: "Active", created: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)},
			LabAccessKeyID: {user: labCaller, id: LabAccessKeyID, status: "Active", created: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		},
		roles: map[string]map[string]string{LabRole: {}, "riposte-responder": {}},
		instances: map[string]*awsInstance{LabInstance: {id: LabInstance,
			enis:    []*awsENI{{id: "eni-0aaa11112222333a", groups: []string{"sg-0eb00000000000001", "sg-05550000000000001"}}, {id: "eni-0bbb11112222333b", groups: []string{"sg-0db00000000000001"}}},
			volumes: []string{"vol-0root0000000001", "vol-0data0000000001"},
			tags:    map[string]string{"Name": "web-prod-01"}}},
		groups:   map[string]string{"sg-0eb00000000000001": "web", "sg-05550000000000001": "ssh", "sg-0db00000000000001": "db", LabQuarantineGroup: "quarantine", LabForensicsGroup: "forensics-quarantine"},
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

// SetRolePolicy puts an inline policy on a role, as another tool or an
// earlier release would have.
func (fk *Fake) SetRolePolicy(role, name, doc string) {
	fk.Mu.Lock()
	defer fk.Mu.Unlock()
	fk.roles[role][name] = doc
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
