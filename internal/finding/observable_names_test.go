package finding

import "testing"

// Amazon Security Lake's OCSF mapping of Security Hub findings mirrors
// every hostname of a record into observables[] ("All Hostnames, IP
// Addresses, Hashes, User Names, Resource ARNs ... will be populated as
// observables in each record": ocsf/examples
// mappings/markdown/AWS/v1.1.0/Security Hub/Detection Finding/README.md),
// each named by the attribute it mirrors. Observables are read before
// evidences[] (extraction order 4 before 6) and the first source of a
// value is kept, so the observable's name is all that says what the value
// is: a DNS query's name is a domain the host asked for, not a host, and a
// destination's hostname is the target, never affected_host
// (docs/detections.md: affected_host is "never one it names as a
// destination").
func TestObservableNameSaysWhatTheValueIs(t *testing.T) {
	// GuardDuty Trojan:EC2/DGADomainRequest.B through Security Hub and
	// Security Lake (OCSF 1.1.0), as published in
	// https://zenn.dev/cscloud_blog/articles/windows-dga-active-directory
	// (the whole record: internal/intake/testdata/real/
	// securitylake-guardduty-dga-1.1.ocsf.json): the EC2 instance queried
	// the DGA domain dglvrrerxokcxc.co.jp.
	dga := map[string]any{
		"resources": []any{map[string]any{"type": "AwsEc2Instance", "uid": "arn:aws:ec2:ap-northeast-1:123456789012:instance/i-1234567890abcdef0", "region": "ap-northeast-1"}},
		"evidences": []any{map[string]any{
			"connection_info": map[string]any{"protocol_name": "UDP", "direction_id": 2, "direction": "Outbound"},
			"query":           map[string]any{"hostname": "dglvrrerxokcxc.co.jp"},
		}},
		"observables": []any{
			map[string]any{"name": "resources[].uid", "value": "arn:aws:ec2:ap-northeast-1:123456789012:instance/i-1234567890abcdef0", "type": "Resource UID", "type_id": 10},
			map[string]any{"name": "evidences[].query.hostname", "value": "dglvrrerxokcxc.co.jp", "type": "Hostname", "type_id": 1},
		},
	}
	view := Build(dga, DefaultConfig())
	if got := AffectedHost(view); got != "" {
		t.Errorf("affected host %q, want none: the DGA domain the instance queried is no host to contain (hosts %v)", got, view["hosts"])
	}
	if got := Primary(view, "hosts"); got != "" {
		t.Errorf("primary host %q, want none (hosts %v)", got, view["hosts"])
	}
	if got := Primary(view, "domains"); got != "dglvrrerxokcxc.co.jp" {
		t.Errorf("primary domain %q, want dglvrrerxokcxc.co.jp (domains %v)", got, view["domains"])
	}

	// The same mapping for a record naming a destination host in its
	// evidence (a brute force against a domain controller): the mirrored
	// observable comes first and must keep the destination mark.
	brute := map[string]any{
		"evidences": []any{map[string]any{
			"src_endpoint": map[string]any{"hostname": "ws07.corp.example"},
			"dst_endpoint": map[string]any{"hostname": "dc01.corp.example"},
		}},
		"observables": []any{
			map[string]any{"name": "evidences[].dst_endpoint.hostname", "value": "dc01.corp.example", "type": "Hostname", "type_id": 1},
			map[string]any{"name": "evidences[].src_endpoint.hostname", "value": "ws07.corp.example", "type": "Hostname", "type_id": 1},
		},
	}
	view = Build(brute, DefaultConfig())
	if got := AffectedHost(view); got != "ws07.corp.example" {
		t.Errorf("affected host %q, want ws07.corp.example, never the target dc01 (hosts %v)", got, view["hosts"])
	}
	if n := len(list(view["hosts"])); n != 2 {
		t.Errorf("hosts %v, want both listed", view["hosts"])
	}
}
