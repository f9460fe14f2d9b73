package aws

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/riposte-dev/riposte/internal/connector"
	"github.com/riposte-dev/riposte/internal/mdtext"
)

// --- instances ---

type instanceView struct {
	enis    []string            // in order
	groups  map[string][]string // eni -> group ids
	tags    map[string]string
	volumes []string
}

// openInstance opens the connection's clients and reads the instance.
func openInstance(ctx context.Context, c *connector.Conn, id string) (*clients, *instanceView, error) {
	cl, err := newClients(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	v, err := describeInstance(ctx, c, cl, id)
	if err != nil {
		return nil, nil, err
	}
	return cl, v, nil
}

func describeInstance(ctx context.Context, c *connector.Conn, cl *clients, id string) (*instanceView, error) {
	res, err := cl.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return nil, classify(c, "DescribeInstances", err)
	}
	for _, r := range res.Reservations {
		for _, in := range r.Instances {
			if awssdk.ToString(in.InstanceId) != id {
				continue
			}
			v := &instanceView{groups: map[string][]string{}, tags: map[string]string{}}
			for _, e := range in.NetworkInterfaces {
				eid := awssdk.ToString(e.NetworkInterfaceId)
				v.enis = append(v.enis, eid)
				for _, g := range e.Groups {
					v.groups[eid] = append(v.groups[eid], awssdk.ToString(g.GroupId))
				}
			}
			for _, t := range in.Tags {
				v.tags[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
			}
			for _, b := range in.BlockDeviceMappings {
				if b.Ebs != nil {
					v.volumes = append(v.volumes, awssdk.ToString(b.Ebs.VolumeId))
				}
			}
			return v, nil
		}
	}
	return nil, connector.NewFailure(connector.KindNotFound, fmt.Sprintf("instance %s not found in %s", id, c.Where()))
}

// encodeGroups and decodeGroups (de)serialize the per-interface groups in
// one tag value (at most 256 characters).
func encodeGroups(enis []string, groups map[string][]string) string {
	parts := make([]string, 0, len(enis))
	for _, e := range enis {
		parts = append(parts, e+"="+strings.Join(groups[e], "+"))
	}
	return strings.Join(parts, ";")
}

func decodeGroups(s string) (map[string][]string, bool) {
	out := map[string][]string{}
	for _, part := range strings.Split(s, ";") {
		eni, gs, ok := strings.Cut(part, "=")
		if !ok || !strings.HasPrefix(eni, "eni-") {
			return nil, false
		}
		for _, g := range strings.Split(gs, "+") {
			if !groupRe.MatchString(g) {
				return nil, false
			}
			out[eni] = append(out[eni], g)
		}
	}
	return out, len(out) > 0
}

func instanceParams(c *connector.Conn) (id, quarantine string, err error) {
	id, err = connector.RequireString(c.Call, "instance_id")
	if err != nil {
		return "", "", err
	}
	if !instanceRe.MatchString(id) {
		return "", "", connector.InvalidParam("%s: %q is not an instance id (i-…)", c.Call.Action, id)
	}
	quarantine, err = connector.OptString(c.Call, "quarantine_security_group", c.Option("quarantine_security_group"))
	if err != nil {
		return "", "", err
	}
	return id, quarantine, nil
}

func groupsOut(enis []string, groups map[string][]string) map[string]any {
	m := map[string]any{}
	for _, e := range enis {
		l := make([]any, 0, len(groups[e]))
		for _, g := range groups[e] {
			l = append(l, g)
		}
		m[e] = l
	}
	return m
}

func isolateInstance(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	id, quarantine, err := instanceParams(c)
	if err != nil {
		return nil, err
	}
	if quarantine == "" {
		return nil, connector.InvalidParam("aws.isolate_instance needs a quarantine security group: the quarantine_security_group param or connection option")
	}
	if !groupRe.MatchString(quarantine) {
		return nil, connector.InvalidParam("aws.isolate_instance: %q is not a security group id (sg-…)", quarantine)
	}
	wrap := func(err error) error { return fmt.Errorf("isolating instance %s: %w", id, err) }
	cl, v, err := openInstance(ctx, c, id)
	if err != nil {
		return nil, wrap(err)
	}
	if len(v.enis) == 0 {
		return nil, wrap(connector.NewFailure(connector.KindRejected, fmt.Sprintf("instance %s has no network interface in %s (EC2-Classic or terminated)", id, c.Where())))
	}
	isolated := func(e string) bool { return len(v.groups[e]) == 1 && v.groups[e][0] == quarantine }
	// The record is written before any change, and never overwritten by
	// a retry: it holds the groups from before the first attempt. A record
	// whose isolation no interface is in any more (released by hand in
	// the console, which leaves the tag) is stale: the groups now are the
	// ones to put back.
	prev, recorded := decodeGroups(v.tags[TagPreviousGroups])
	if recorded && !v.quarantined(v.recordedQuarantine(quarantine)) {
		recorded = false
	}
	// An isolation in force into another quarantine group (another
	// playbook's, a record of an earlier run): moving the instance into
	// this one would leave no record of that isolation, so its undo would
	// take it for released by hand and the recorded groups would be lost.
	// Nothing is changed, as Defender refuses a second isolation.
	if q := v.recordedQuarantine(quarantine); recorded && q != quarantine {
		return nil, wrap(connector.NewFailure(connector.KindRejected, fmt.Sprintf(
			"instance %s is isolated into %s by an earlier isolation (tag %s, the groups before it in %s); nothing was changed: isolate into %s, or restore it first (aws.restore_instance)",
			id, q, TagQuarantineGroup, TagPreviousGroups, q)))
	}
	if !recorded {
		prev = v.groups
		val := encodeGroups(v.enis, v.groups)
		if len(val) > 256 {
			return nil, wrap(connector.NewFailure(connector.KindRejected, fmt.Sprintf("instance %s has too many security groups to record in a tag (%d characters); isolate it by hand", id, len(val))))
		}
		tags := []ec2types.Tag{{Key: awssdk.String(TagPreviousGroups), Value: awssdk.String(val)}, {Key: awssdk.String(TagQuarantineGroup), Value: awssdk.String(quarantine)}}
		if _, err := cl.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: tags}); err != nil {
			return nil, wrap(classify(c, "CreateTags", err))
		}
	}
	out := map[string]any{"instance_id": id, "network_interfaces": toAny(v.enis), "previous_security_groups": groupsOut(v.enis, prev), "already": true}
	after := map[string][]string{}
	for _, e := range v.enis {
		after[e] = []string{quarantine}
		if isolated(e) {
			continue
		}
		out["already"] = false
		if _, err := cl.ec2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: awssdk.String(e), Groups: []string{quarantine}}); err != nil {
			return nil, wrap(classify(c, "ModifyNetworkInterfaceAttribute", err))
		}
	}
	out["security_groups"] = groupsOut(v.enis, after)
	c.LogAction("isolated instance", "instance_id", id, "quarantine", quarantine)
	return out, nil
}

// recordedQuarantine is the quarantine group of the isolation the record
// tags belong to; a record without one (written before the tag existed)
// is taken for an isolation with fallback.
func (v *instanceView) recordedQuarantine(fallback string) string {
	if q := v.tags[TagQuarantineGroup]; groupRe.MatchString(q) {
		return q
	}
	return fallback
}

// quarantined reports whether some interface has the quarantine group
// alone: an isolation with it is (at least partly) in place.
func (v *instanceView) quarantined(quarantine string) bool {
	for _, e := range v.enis {
		if len(v.groups[e]) == 1 && v.groups[e][0] == quarantine {
			return true
		}
	}
	return false
}

func restoreInstance(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	id, quarantine, err := instanceParams(c)
	if err != nil {
		return nil, err
	}
	wrap := func(err error) error { return fmt.Errorf("restoring instance %s: %w", id, err) }
	cl, v, err := openInstance(ctx, c, id)
	if err != nil {
		return nil, wrap(err)
	}
	out := map[string]any{"instance_id": id, "network_interfaces": toAny(v.enis), "previous_security_groups": groupsOut(v.enis, v.groups), "already": true}
	prev, recorded := decodeGroups(v.tags[TagPreviousGroups])
	if !recorded {
		if _, has := v.tags[TagPreviousGroups]; has {
			return nil, wrap(connector.NewFailure(connector.KindRejected, fmt.Sprintf("the %s tag of instance %s is unreadable (%q); restore its security groups by hand", TagPreviousGroups, id, v.tags[TagPreviousGroups])))
		}
		// Nothing recorded: never isolated by Riposte, or already restored.
		out["security_groups"] = groupsOut(v.enis, v.groups)
		return out, nil
	}
	recordTags := []ec2types.Tag{{Key: awssdk.String(TagPreviousGroups)}, {Key: awssdk.String(TagQuarantineGroup)}}
	if q := v.recordedQuarantine(quarantine); q != "" && !v.quarantined(q) {
		// Released by hand (or never isolated past the record): the
		// groups the instance has now are someone's decision, not the
		// quarantine; only the stale record goes.
		if _, err := cl.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: recordTags}); err != nil {
			return nil, wrap(classify(c, "DeleteTags", err))
		}
		out["security_groups"] = groupsOut(v.enis, v.groups)
		c.LogAction("instance no longer in quarantine; security groups left as they are", "instance_id", id)
		return out, nil
	}
	enis := make([]string, 0, len(prev))
	for e := range prev {
		enis = append(enis, e)
	}
	sort.Strings(enis)
	for _, e := range enis {
		if strings.Join(v.groups[e], "+") == strings.Join(prev[e], "+") {
			continue
		}
		out["already"] = false
		if _, err := cl.ec2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: awssdk.String(e), Groups: prev[e]}); err != nil {
			return nil, wrap(classify(c, "ModifyNetworkInterfaceAttribute", err))
		}
	}
	// The record goes last: a retry after a failure above still has it.
	if _, err := cl.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: recordTags}); err != nil {
		return nil, wrap(classify(c, "DeleteTags", err))
	}
	out["security_groups"] = groupsOut(v.enis, prev)
	c.LogAction("restored instance security groups", "instance_id", id)
	return out, nil
}

// --- snapshots ---

func snapshotInstance(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	id, err := connector.RequireString(c.Call, "instance_id")
	if err != nil {
		return nil, err
	}
	if !instanceRe.MatchString(id) {
		return nil, connector.InvalidParam("%s: %q is not an instance id (i-…)", c.Call.Action, id)
	}
	desc, err := connector.OptString(c.Call, "description", fmt.Sprintf("Riposte evidence: workflow %s step %s", c.Call.WorkflowID, c.Call.StepID))
	if err != nil {
		return nil, err
	}
	desc = snapshotDescription(desc)
	wrap := func(err error) error { return fmt.Errorf("snapshotting instance %s: %w", id, err) }
	cl, err := newClients(ctx, c)
	if err != nil {
		return nil, wrap(err)
	}
	out := map[string]any{"instance_id": id, "snapshot_ids": []any{}, "already": false}
	mark := ""
	if key := connector.IdemKey(c.Call); key != "" {
		// The step's tag names the run too: a finding its detector
		// reopened has a new run under the same workflow id, whose
		// snapshots are new evidence, not the earlier run's. A tag without
		// the run (written before it was part of it) is this step's only
		// when the snapshot is not older than the step.
		legacy := connector.ShortHash(key, 16)
		mark = legacy
		if c.Call.RunID != "" {
			mark = connector.ShortHash(key+"\x00"+c.Call.RunID, 16)
		}
		res, err := cl.ec2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"},
			Filters: []ec2types.Filter{{Name: awssdk.String("tag:" + TagStep), Values: slices.Compact([]string{mark, legacy})}}})
		if err != nil {
			return nil, wrap(classify(c, "DescribeSnapshots", err))
		}
		since, haveSince := connector.ScheduledTime(ctx)
		ids := []any{}
		for _, s := range res.Snapshots {
			ours := snapshotTag(s.Tags, TagStep) == mark
			if !ours && haveSince && s.StartTime != nil {
				// StartTime is to the second; a minute for clock skew.
				ours = !s.StartTime.Before(since.Truncate(time.Second).Add(-time.Minute))
			}
			if ours {
				ids = append(ids, awssdk.ToString(s.SnapshotId))
			}
		}
		if len(ids) > 0 {
			out["snapshot_ids"], out["already"] = ids, true
			return out, nil
		}
	}
	in := &ec2.CreateSnapshotsInput{
		InstanceSpecification: &ec2types.InstanceSpecification{InstanceId: awssdk.String(id)},
		Description:           awssdk.String(desc),
		CopyTagsFromSource:    ec2types.CopyTagsFromSourceVolume,
	}
	if mark != "" {
		in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSnapshot, Tags: []ec2types.Tag{{Key: awssdk.String(TagStep), Value: awssdk.String(mark)}}}}
	}
	res, err := cl.ec2.CreateSnapshots(ctx, in)
	if err != nil {
		return nil, wrap(classify(c, "CreateSnapshots", err))
	}
	ids := []any{}
	for _, s := range res.Snapshots {
		ids = append(ids, awssdk.ToString(s.SnapshotId))
	}
	out["snapshot_ids"] = ids
	c.LogAction("took snapshots", "instance_id", id, "snapshots", len(ids))
	return out, nil
}

func toAny(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// snapshotDescription is the description the snapshots get, which the
// console and the CLI show and which playbooks may fill with detection
// text: on one line, without control or format characters (a bidi override
// that reverses what an analyst reads, a terminal escape), within EC2's
// 255 bytes.
func snapshotDescription(s string) string {
	return mdtext.Clip(connector.ShownLine(s), 255)
}

// snapshotTag is the value of a snapshot's tag key, "" without one.
func snapshotTag(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if awssdk.ToString(t.Key) == key {
			return awssdk.ToString(t.Value)
		}
	}
	return ""
}
