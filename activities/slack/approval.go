package slack

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/riposte-dev/riposte/internal/slackapp"
	"github.com/riposte-dev/riposte/workflows"
)

// RegisterApproval registers the two internal approval activities,
// workflows.ActivityOpenGate and workflows.ActivityUpdateGate (they are not
// catalog actions). With p nil (no Slack configured, the dev default) the
// gate is not posted anywhere: OpenGate returns the listed users as the
// approvers (user groups cannot be resolved without Slack and are ignored,
// with a warning) and Posted false, and UpdateGate does nothing; decisions
// then come through the API or the CLI.
func RegisterApproval(w worker.ActivityRegistry, p *slackapp.Poster) {
	w.RegisterActivityWithOptions(openGateActivity(p), activity.RegisterOptions{Name: workflows.ActivityOpenGate})
	w.RegisterActivityWithOptions(updateGateActivity(p), activity.RegisterOptions{Name: workflows.ActivityUpdateGate})
}

func openGateActivity(p *slackapp.Poster) func(context.Context, workflows.GateRequest) (workflows.GateOpened, error) {
	return func(ctx context.Context, req workflows.GateRequest) (workflows.GateOpened, error) {
		if p != nil {
			// Posted once across retries: the message carries the
			// activity's key, and a retry looks for it first.
			info := activity.GetInfo(ctx)
			return p.OpenGateOnce(ctx, req, slackapp.GateOnce{
				Key:      "gate/" + req.WorkflowID + "/" + req.RunID + "/" + req.GateID + "/" + info.ActivityID,
				Retrying: info.Attempt > 1,
				Since:    info.ScheduledTime,
			})
		}
		approvers := slackapp.SortedUnique(req.Users)
		if len(req.Groups) > 0 {
			activity.GetLogger(ctx).Warn(fmt.Sprintf(
				"approval gate %s: Slack is not configured, so user groups %v cannot be resolved; only the listed users may approve (set SLACK_BOT_TOKEN)",
				req.GateID, req.Groups),
				"workflow_id", req.WorkflowID, "gate", req.GateID)
		}
		return workflows.GateOpened{Approvers: approvers, Posted: false}, nil
	}
}

func updateGateActivity(p *slackapp.Poster) func(context.Context, workflows.GateUpdate) error {
	return func(ctx context.Context, upd workflows.GateUpdate) error {
		if p == nil {
			return nil
		}
		return p.UpdateGate(ctx, upd)
	}
}
