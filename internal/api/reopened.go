package api

import (
	"context"

	enumspb "go.temporal.io/api/enums/v1"
)

// continuedAs is the run that run runID continued as (its close event), ""
// when its history cannot be read: the detail is answered without it.
func (s *Server) continuedAs(ctx context.Context, workflowID, runID string) string {
	it := s.Temporal.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return ""
		}
		if a := ev.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
			return a.GetNewExecutionRunId()
		}
	}
	return ""
}

// continuedFrom is the run that run runID continues (its start event), ""
// for a run started otherwise or whose history cannot be read.
func (s *Server) continuedFrom(ctx context.Context, workflowID, runID string) string {
	it := s.Temporal.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return ""
	}
	ev, err := it.Next()
	if err != nil {
		return ""
	}
	return ev.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
}
