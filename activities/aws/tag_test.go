package aws

import (
	"strings"
	"testing"
)

// FuzzDecodeGroups: the instance tag is outside input (anyone with
// ec2:CreateTags can write it); only well-formed records are used.
func FuzzDecodeGroups(f *testing.F) {
	f.Add("eni-0aaa=sg-0eb00000000000001+sg-05550000000000001;eni-0bbb=sg-0db00000000000001")
	f.Add("eni-1=")
	f.Add(";;")
	f.Add("eni-1=sg-x")
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := decodeGroups(s)
		if !ok {
			return
		}
		for eni, gs := range m {
			if !strings.HasPrefix(eni, "eni-") || len(gs) == 0 {
				t.Fatalf("%q: %s -> %v", s, eni, gs)
			}
			for _, g := range gs {
				if !groupRe.MatchString(g) {
					t.Fatalf("%q: group %q", s, g)
				}
			}
		}
	})
}

func TestGroupsRecordRoundTrip(t *testing.T) {
	enis := []string{"eni-0aaa11112222333a", "eni-0bbb11112222333b"}
	groups := map[string][]string{enis[0]: {"sg-0eb00000000000001", "sg-05550000000000001"}, enis[1]: {"sg-0db00000000000001"}}
	m, ok := decodeGroups(encodeGroups(enis, groups))
	if !ok || strings.Join(m[enis[0]], ",") != "sg-0eb00000000000001,sg-05550000000000001" || len(m[enis[1]]) != 1 {
		t.Fatalf("round trip: %v %v", m, ok)
	}
}
