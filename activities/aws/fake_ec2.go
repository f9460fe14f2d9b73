package aws

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/labkit"
)

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
		// A filter matches any of its values (EC2 API reference, Filter).
		want := map[string][]string{}
		for i := 1; ; i++ {
			n, has := f[fmt.Sprintf("Filter.%d.Name", i)]
			if !has {
				break
			}
			for j := 1; ; j++ {
				v, has := f[fmt.Sprintf("Filter.%d.Value.%d", i, j)]
				if !has {
					break
				}
				want[n[0]] = append(want[n[0]], v[0])
			}
		}
		var b strings.Builder
		snaps := append([]*awsSnapshot(nil), fk.snapshots...)
		sort.Slice(snaps, func(i, j int) bool { return snaps[i].id < snaps[j].id })
		for _, s := range snaps {
			match := true
			for k, vs := range want {
				switch {
				case strings.HasPrefix(k, "tag:"):
					match = match && slices.Contains(vs, s.tags[strings.TrimPrefix(k, "tag:")])
				case k == "volume-id":
					match = match && slices.Contains(vs, s.volume)
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
