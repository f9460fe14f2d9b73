package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/workflows"
)

type fakeQueue struct {
	pollers []string
	err     error
	calls   int
}

func (f *fakeQueue) DescribeTaskQueue(_ context.Context, tq string, typ enumspb.TaskQueueType) (*workflowservice.DescribeTaskQueueResponse, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	if typ != enumspb.TASK_QUEUE_TYPE_WORKFLOW {
		return nil, errors.New("asked about the wrong task queue type")
	}
	r := &workflowservice.DescribeTaskQueueResponse{}
	for _, id := range f.pollers {
		r.Pollers = append(r.Pollers, &taskqueuepb.PollerInfo{Identity: id})
	}
	return r, nil
}

// Playbooks go by reference only when every worker polling says it loads
// them from a store: a worker of an older release (or none at all) keeps
// them inline, and so does a server that cannot be asked. The revision is
// the lowest any worker announces: one that loads by reference but names
// no revision runs RevByReference.
func TestWorkersByReference(t *testing.T) {
	rev2 := "12@host@riposte " + engine.ByReferenceMarker
	latest := fmt.Sprintf("14@host@riposte %s%d %s", engine.RevMarker, workflows.LatestRev, engine.ByReferenceMarker)
	future := fmt.Sprintf("15@host@riposte %s%d %s", engine.RevMarker, workflows.LatestRev+5, engine.ByReferenceMarker)
	for _, tc := range []struct {
		name    string
		pollers []string
		err     error
		want    int
	}{
		{"all of this release", []string{latest, latest}, nil, workflows.LatestRev},
		{"all of this release, with a store or without", []string{engine.WorkerIdentity("16@host@riposte", true), engine.WorkerIdentity("17@host@riposte", false)}, nil, 0},
		{"a newer release: no more than this one's", []string{future, latest}, nil, workflows.LatestRev},
		{"one worker of the release before", []string{latest, rev2}, nil, workflows.RevByReference},
		{"all of the release before", []string{rev2, rev2}, nil, workflows.RevByReference},
		{"one older worker", []string{latest, "13@host@riposte"}, nil, 0},
		{"a marker not at the end", []string{latest, engine.ByReferenceMarker + " 13@host"}, nil, 0},
		{"no worker", nil, nil, engine.RevUnknown},
		{"server unreachable", nil, errors.New("unavailable"), engine.RevUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeQueue{pollers: tc.pollers, err: tc.err}
			w := &engine.WorkersByReference{Client: f, TaskQueue: "riposte"}
			if got := w.Rev(context.Background()); got != tc.want {
				t.Errorf("Rev = %d, want %d", got, tc.want)
			}
			w.Rev(context.Background()) // cached unless the server failed or no worker polls
			want := 1
			if tc.err != nil || len(tc.pollers) == 0 {
				want = 2 // failures and an empty task queue are not cached
			}
			if f.calls != want {
				t.Errorf("%d DescribeTaskQueue calls for two answers, want %d", f.calls, want)
			}
			// The credential answer comes with the same (cached) call.
			cred := engine.PollersSealCredential(func() []*taskqueuepb.PollerInfo {
				var ps []*taskqueuepb.PollerInfo
				for _, id := range tc.pollers {
					ps = append(ps, &taskqueuepb.PollerInfo{Identity: id})
				}
				return ps
			}()) && tc.err == nil
			if got := w.SealsCredential(context.Background()); got != cred {
				t.Errorf("SealsCredential = %v, want %v", got, cred)
			}
			if tc.err == nil && len(tc.pollers) > 0 && f.calls != 1 {
				t.Errorf("SealsCredential asked the server again (%d calls)", f.calls)
			}
		})
	}
}

// riposte doctor's workers line: none, older, mixed and all of this
// release.
func TestWorkersLine(t *testing.T) {
	latest := engine.WorkerIdentity("14@host@riposte", true)
	rev2 := "12@host@riposte " + engine.ByReferenceMarker
	for _, tc := range []struct {
		pollers []string
		ok      bool
		want    string
	}{
		{nil, false, `none has polled task queue "riposte"`},
		{[]string{latest, "13@host@riposte"}, true, "2 polling \"riposte\", at least one of a release that cannot load playbooks by reference: runs carry their playbook inline"},
		{[]string{latest, rev2}, true, fmt.Sprintf("at revision %d until every worker runs %d", workflows.RevByReference, workflows.LatestRev)},
		{[]string{latest, latest}, true, fmt.Sprintf("2 polling \"riposte\", all of this release: runs go by reference at revision %d", workflows.LatestRev)},
	} {
		var ps []*taskqueuepb.PollerInfo
		for _, id := range tc.pollers {
			ps = append(ps, &taskqueuepb.PollerInfo{Identity: id})
		}
		line, ok := engine.WorkersLine("riposte", ps)
		if ok != tc.ok || !strings.Contains(line, tc.want) {
			t.Errorf("%v: %q (ok %v), want %q (ok %v)", tc.pollers, line, ok, tc.want, tc.ok)
		}
	}
}

// riposte doctor asks whether every worker polling reads compressed
// payloads before a deployment turns compression on.
func TestPollersReadCompressed(t *testing.T) {
	now := fmt.Sprintf("14@host@riposte %s %s%d %s", engine.CompressedMarker, engine.RevMarker, workflows.LatestRev, engine.ByReferenceMarker)
	before := fmt.Sprintf("13@host@riposte %s%d %s", engine.RevMarker, workflows.LatestRev, engine.ByReferenceMarker)
	for _, tc := range []struct {
		name    string
		pollers []string
		want    bool
	}{
		{"all read them", []string{now, now}, true},
		{"one of a release before", []string{now, before}, false},
		{"marker inside another word", []string{now, "13@host@" + engine.CompressedMarker + "x"}, false},
		{"no worker", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ps []*taskqueuepb.PollerInfo
			for _, id := range tc.pollers {
				ps = append(ps, &taskqueuepb.PollerInfo{Identity: id})
			}
			if got := engine.PollersReadCompressed(ps); got != tc.want {
				t.Errorf("PollersReadCompressed = %v, want %v", got, tc.want)
			}
			// The marker does not disturb the revision earlier starters read.
			if len(tc.pollers) > 0 && tc.want && engine.PollersRev(ps) != workflows.LatestRev {
				t.Errorf("PollersRev = %d, want %d", engine.PollersRev(ps), workflows.LatestRev)
			}
		})
	}
}

// The API and the Slack app seal the decider's credential only while
// every polling worker verifies such seals: one worker of an earlier
// release would refuse them as forged.
func TestPollersSealCredential(t *testing.T) {
	now := engine.WorkerIdentity("14@host@riposte", true)
	before := fmt.Sprintf("13@host@riposte %s %s%d %s", engine.CompressedMarker, engine.RevMarker, workflows.RevWithdrawnAtStart, engine.ByReferenceMarker)
	for _, tc := range []struct {
		name    string
		pollers []string
		want    bool
	}{
		{"all of this release", []string{now, engine.WorkerIdentity("15@host@riposte", false)}, true},
		{"one of a release before", []string{now, before}, false},
		{"marker inside another word", []string{"13@host@" + engine.CredentialMarker + "x"}, false},
		{"no worker", nil, false},
	} {
		var ps []*taskqueuepb.PollerInfo
		for _, id := range tc.pollers {
			ps = append(ps, &taskqueuepb.PollerInfo{Identity: id})
		}
		if got := engine.PollersSealCredential(ps); got != tc.want {
			t.Errorf("%s: PollersSealCredential = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A worker's identity: with or without a playbook store it announces
// every capability of this release in one short word at its end; with a
// store the word also carries the revision it runs.
func TestWorkerIdentity(t *testing.T) {
	for _, byRef := range []bool{false, true} {
		id := engine.WorkerIdentity("14@host@riposte", byRef)
		ps := []*taskqueuepb.PollerInfo{{Identity: id}}
		if !engine.PollersReadCompressed(ps) {
			t.Errorf("%q: does not read compressed payloads", id)
		}
		for _, m := range engine.Capabilities {
			if !engine.PollersCarry(ps, m) {
				t.Errorf("%q: does not announce %s", id, m)
			}
		}
		want := 0
		if byRef {
			want = workflows.LatestRev
			// Where a serve of an earlier release reads the revision:
			// RevMarker and ByReferenceMarker end the identity.
			if !strings.HasSuffix(id, fmt.Sprintf(" %s%d %s", engine.RevMarker, workflows.LatestRev, engine.ByReferenceMarker)) {
				t.Errorf("%q does not end with the revision and %s", id, engine.ByReferenceMarker)
			}
		}
		if got := engine.PollersRev(ps); got != want {
			t.Errorf("%q: revision %d, want %d", id, got, want)
		}
		// The server stores the identity in every task event of every
		// run: the capabilities stay one short word.
		if extra := len(id) - len("14@host@riposte"); extra > 56 {
			t.Errorf("%q: the markers take %d B", id, extra)
		}
	}
}

// The compact word is read strictly: a count or revision that is not a
// plain number announces nothing (the run goes inline, seals without
// credential, as for a worker of an earlier release); a count below a
// capability's place says the worker lacks it; workers of an earlier
// release (long words) and of this one mix.
func TestCompactCapabilities(t *testing.T) {
	old := fmt.Sprintf("13@host@riposte %s %s %s %s %s %s%d %s", engine.CompressedMarker, engine.CredentialMarker, engine.ControlCredentialMarker,
		engine.RunSealMarker, engine.RolledBackRunMarker, engine.RevMarker, workflows.RevWithdrawnAtStart, engine.ByReferenceMarker)
	now := engine.WorkerIdentity("14@host@riposte", true)
	for _, tc := range []struct {
		name    string
		pollers []string
		rev     int
		carry   map[string]bool
	}{
		{"this release", []string{now}, workflows.LatestRev, map[string]bool{engine.CompressedMarker: true, engine.RolledBackRunMarker: true}},
		{"with an earlier release's long words", []string{now, old}, workflows.RevWithdrawnAtStart, map[string]bool{engine.CompressedMarker: true, engine.RolledBackRunMarker: true}},
		{"no store", []string{"1@h@q riposte:caps/5"}, 0, map[string]bool{engine.RunSealMarker: true}},
		{"before the long revision words", []string{"1@h@q riposte:caps/3 riposte:rev/8 riposte:playbook-ref/1"}, 8, map[string]bool{engine.ControlCredentialMarker: true, engine.RunSealMarker: false}},
		{"before the by-reference word alone (read as an earlier release's)", []string{"1@h@q riposte:caps/5 riposte:playbook-ref/1"}, workflows.RevByReference, map[string]bool{engine.CompressedMarker: false}},
		{"revision in the word, without the long words", []string{"1@h@q riposte:caps/5:rev/8"}, 8, map[string]bool{engine.RolledBackRunMarker: true}},
		{"three capabilities", []string{now, "1@h@q riposte:caps/3:rev/8"}, 8, map[string]bool{engine.ControlCredentialMarker: true, engine.RunSealMarker: false, engine.RolledBackRunMarker: false}},
		{"a later release's larger count", []string{"1@h@q riposte:caps/9:rev/99"}, workflows.LatestRev, map[string]bool{engine.RolledBackRunMarker: true, "riposte:unknown": false}},
		{"zero", []string{"1@h@q riposte:caps/0:rev/9"}, 9, map[string]bool{engine.CompressedMarker: false}},
		{"leading zero", []string{"1@h@q riposte:caps/05:rev/9"}, 0, map[string]bool{engine.CompressedMarker: false}},
		{"negative", []string{"1@h@q riposte:caps/-5:rev/9"}, 0, map[string]bool{engine.CompressedMarker: false}},
		{"sign", []string{"1@h@q riposte:caps/+5:rev/9"}, 0, map[string]bool{engine.CompressedMarker: false}},
		{"revision not a number", []string{"1@h@q riposte:caps/5:rev/x"}, 0, map[string]bool{engine.CompressedMarker: true}},
		{"revision below by reference", []string{"1@h@q riposte:caps/5:rev/1"}, 0, map[string]bool{engine.CompressedMarker: true}},
		{"empty revision", []string{"1@h@q riposte:caps/5:rev/"}, 0, map[string]bool{engine.CompressedMarker: true}},
		{"not the last word", []string{"1@h@q riposte:caps/5:rev/9 other"}, 0, map[string]bool{engine.CompressedMarker: false}},
		{"inside another word", []string{"1@h@qriposte:caps/5:rev/9"}, 0, map[string]bool{engine.CompressedMarker: false}},
		{"no pollers", nil, 0, map[string]bool{engine.CompressedMarker: false}},
	} {
		var ps []*taskqueuepb.PollerInfo
		for _, id := range tc.pollers {
			ps = append(ps, &taskqueuepb.PollerInfo{Identity: id})
		}
		if got := engine.PollersRev(ps); got != tc.rev {
			t.Errorf("%s: PollersRev = %d, want %d", tc.name, got, tc.rev)
		}
		for m, want := range tc.carry {
			if got := engine.PollersCarry(ps, m); got != want {
				t.Errorf("%s: PollersCarry(%s) = %v, want %v", tc.name, m, got, want)
			}
		}
	}
}

// Extensions, safe-mode switches and rollbacks seal the sender's
// credential only while every polling worker verifies those seals: a
// worker of the release that sealed only votes' credentials
// (CredentialMarker without ControlCredentialMarker) would refuse them.
func TestSealsControlCredential(t *testing.T) {
	now := engine.WorkerIdentity("14@host@riposte", true)
	votesOnly := fmt.Sprintf("13@host@riposte %s %s %s%d %s", engine.CompressedMarker, engine.CredentialMarker, engine.RevMarker, workflows.RevWithdrawnAtStart, engine.ByReferenceMarker)
	for _, tc := range []struct {
		name          string
		pollers       []string
		votes, contrl bool
	}{
		{"all of this release", []string{now, engine.WorkerIdentity("15@host@riposte", false)}, true, true},
		{"one sealing only votes' credentials", []string{now, votesOnly}, true, false},
		{"no worker", nil, false, false},
	} {
		f := &fakeQueue{pollers: tc.pollers}
		w := &engine.WorkersByReference{Client: f, TaskQueue: "riposte"}
		if got := w.SealsControlCredential(context.Background()); got != tc.contrl {
			t.Errorf("%s: SealsControlCredential = %v, want %v", tc.name, got, tc.contrl)
		}
		if got := w.SealsCredential(context.Background()); got != tc.votes {
			t.Errorf("%s: SealsCredential = %v, want %v", tc.name, got, tc.votes)
		}
	}
}
