package connector

import (
	"context"
	"encoding/json"
	"sync"

	"go.temporal.io/sdk/activity"
)

// Progress that must survive an activity's retries rides on its heartbeat
// details: Temporal hands the last details recorded to the next attempt.
// The worker's periodic heartbeat (activities.Register) re-sends the saved
// details, since a heartbeat without details would replace them.

type progressKey struct{}

// Progress holds the details one activity attempt saved: the handler's
// (SaveProgress) and a wrapper's record beside them (SetRecord, a checked
// call's attemptRecord). Both are JSON objects with keys of their own, so
// the heartbeat details carry one object with the keys of both: a wrapper
// that records how an attempt ended does not drop what the handler saved
// for its retry, nor a handler's save the wrapper's record.
type Progress struct {
	mu      sync.Mutex
	details any
	set     bool
	record  any
	hasRec  bool
}

// WithProgress attaches a Progress to an activity attempt's context, or
// returns the one already attached (a wrapper that saved details before the
// handler ran, e.g. a checked call's allowed decision, keeps them in the
// heartbeats the handler's wrapper sends).
func WithProgress(ctx context.Context) (context.Context, *Progress) {
	if p, ok := ctx.Value(progressKey{}).(*Progress); ok {
		return ctx, p
	}
	p := &Progress{}
	return context.WithValue(ctx, progressKey{}, p), p
}

// Set keeps v as the handler's details the next heartbeats send, without
// sending one.
func (p *Progress) Set(v any) {
	p.mu.Lock()
	p.details, p.set = v, true
	p.mu.Unlock()
}

// SetRecord keeps v as a wrapper's record the next heartbeats send beside
// the handler's details, without sending one.
func (p *Progress) SetRecord(v any) {
	p.mu.Lock()
	p.record, p.hasRec = v, true
	p.mu.Unlock()
}

// Details returns what the next heartbeat sends: the handler's details
// and the wrapper's record in one object, or whichever is set.
func (p *Progress) Details() (any, bool) {
	if p == nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.set && p.hasRec:
		return mergeDetails(p.details, p.record), true
	case p.hasRec:
		return p.record, true
	}
	return p.details, p.set
}

// mergeDetails returns one JSON object with the keys of details and of
// record (record's win). When either is not an object, record alone.
func mergeDetails(details, record any) any {
	d, err1 := asObject(details)
	r, err2 := asObject(record)
	if err1 != nil || err2 != nil {
		return record
	}
	for k, v := range r {
		d[k] = v
	}
	return d
}

func asObject(v any) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// SaveProgress records v as the attempt's heartbeat details now. Outside an
// activity it does nothing.
func SaveProgress(ctx context.Context, v any) {
	send := v
	if p, ok := ctx.Value(progressKey{}).(*Progress); ok {
		p.Set(v)
		send, _ = p.Details()
	}
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, send)
	}
}

// LoadProgress reads the details a previous attempt saved into v.
func LoadProgress(ctx context.Context, v any) bool {
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return false
	}
	return activity.GetHeartbeatDetails(ctx, v) == nil
}

// Attempt is the activity attempt number (1 for the first), or 0 outside
// an activity.
func Attempt(ctx context.Context) int32 {
	if !activity.IsActivity(ctx) {
		return 0
	}
	return activity.GetInfo(ctx).Attempt
}
