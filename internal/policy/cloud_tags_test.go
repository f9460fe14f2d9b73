package policy

import (
	"encoding/json"
	"os"
	"testing"
)

// protected.tags names asset tags no automatic containment may touch. A
// cloud finding has no device: its asset is a resource, whose tags AWS
// writes in resources[].tags (GuardDuty via Security Hub, OCSF 1.6:
// key_value_pair {name, value}) or resources[].labels (Security Hub's
// Security Lake mapping: "key=value" strings). Only device.labels and
// device.groups were read, so a tagged EC2 instance from a real GuardDuty
// finding was isolated automatically whatever the policy's tags said.
func TestProtectedTagsOfCloudResources(t *testing.T) {
	for _, tc := range []struct {
		file, tag string
		params    map[string]any
	}{
		// resources[0]: AWS::EC2::Instance i-0123456789abcdef0, tags
		// [{name: environment, value: use1}, …].
		{"guardduty-runtime-newbinary-1.6.ocsf.json", "environment=use1", map[string]any{"instance_id": "i-0123456789abcdef0"}},
		{"guardduty-runtime-newbinary-1.6.ocsf.json", "Environment=USE1", map[string]any{"instance_id": "i-0123456789abcdef0"}},
		// resources[0]: AwsEc2SecurityGroup, labels [billingCode=Lotus-1-2-3, needsPatching=true].
		{"securityhub-ec2-19-2001.ocsf.json", "needsPatching=true", map[string]any{"instance_id": "i-0123456789abcdef0"}},
	} {
		p, err := Parse("policy.yaml", []byte("protected:\n  tags: [\""+tc.tag+"\"]\n"))
		if err != nil {
			t.Fatal(err)
		}
		det := realSample(t, tc.file)
		for _, req := range []Request{
			{Action: "aws.isolate_instance", Params: tc.params, Detection: det, Auto: true},
			{Action: "aws.isolate_instance", Params: tc.params, Auto: true, Facts: NewFacts(det, nil)},
		} {
			if d := p.Evaluate(req, false); d.Decision != Gate || d.Rule != "protected_asset" {
				t.Errorf("%s, protected tag %q (facts %v): %+v; want the protected_asset gate", tc.file, tc.tag, req.Facts != nil, d)
			}
		}
	}
}

// TestProtectedTagNameOfCloudResources: AWS tags are key/value pairs, and
// a crown-jewel instance is tagged crown-jewel=true (or a Security Hub
// label "crown-jewel=true"). README's own example protects
// tags: ["crown-jewel"], which protects a device labelled crown-jewel, but
// the resource's tag was read only as "crown-jewel=true", so that policy
// let the instance be isolated automatically: a protected tag written as a
// bare name now matches a resource tag or key=value label of that name,
// whatever its value (the safe direction: a gate, never an action).
func TestProtectedTagNameOfCloudResources(t *testing.T) {
	for _, tc := range []struct{ file, tag string }{
		// resources[0] tags [{name: environment, value: use1}, …]
		{"guardduty-runtime-newbinary-1.6.ocsf.json", "environment"},
		// resources[0] labels [billingCode=Lotus-1-2-3, needsPatching=true]
		{"securityhub-ec2-19-2001.ocsf.json", "needsPatching"},
	} {
		p, err := Parse("policy.yaml", []byte("protected:\n  tags: [\""+tc.tag+"\"]\n"))
		if err != nil {
			t.Fatal(err)
		}
		det := realSample(t, tc.file)
		req := Request{Action: "aws.isolate_instance", Params: map[string]any{"instance_id": "i-0123456789abcdef0"}, Auto: true, Facts: NewFacts(det, nil)}
		if d := p.Evaluate(req, false); d.Decision != Gate || d.Rule != "protected_asset" {
			t.Errorf("%s, protected tag %q: %+v; want the protected_asset gate", tc.file, tc.tag, d)
		}
	}
}

// realSample reads a real detection of internal/intake/testdata/real.
func realSample(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../intake/testdata/real/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var det map[string]any
	if err := json.Unmarshal(b, &det); err != nil {
		t.Fatal(err)
	}
	return det
}
