package connector

import (
	"context"
	"sync"

	"go.temporal.io/sdk/activity"
)

// Progress that must survive an activity's retries rides on its heartbeat
// details: Temporal hands the last details recorded to the next attempt.
// The worker's periodic heartbeat (activities.Register) re-sends the saved
// details, since a heartbeat without details would replace them.

type progressKey struct{}

// Progress holds the details one activity attempt saved.
type Progress struct {
	mu      sync.Mutex
	details any
	set     bool
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

// Set keeps v as the details the next heartbeats send, without sending one.
func (p *Progress) Set(v any) {
	p.mu.Lock()
	p.details, p.set = v, true
	p.mu.Unlock()
}

// Details returns what SaveProgress stored, if anything.
func (p *Progress) Details() (any, bool) {
	if p == nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.details, p.set
}

// SaveProgress records v as the attempt's heartbeat details now. Outside an
// activity it does nothing.
func SaveProgress(ctx context.Context, v any) {
	if p, ok := ctx.Value(progressKey{}).(*Progress); ok {
		p.mu.Lock()
		p.details, p.set = v, true
		p.mu.Unlock()
	}
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, v)
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
