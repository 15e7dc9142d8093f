package router

import (
	"context"

	"github.com/pagerd/pagerd/incident"
)

// Submitter commits routed alerts to the replicated state. Both methods return
// only after the command is committed to a quorum and applied, so a caller may
// answer its sender with success as soon as they return without error.
//
// An error that has a method `RetryAfter() time.Duration` is transient cluster
// trouble (no leader, no quorum, leadership lost mid-commit): the handler answers
// 503 with that Retry-After. Any other error is a 500.
type Submitter interface {
	SubmitAlertGroup(ctx context.Context, g *incident.AlertGroup) (incident.IngestResult, error)
	SubmitEvent(ctx context.Context, e *incident.Event) (incident.IngestResult, error)
}
