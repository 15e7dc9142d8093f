package continuity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/notify"
)

// reports mails every recorded result whose report is due to the service's
// continuity manager and owner, then records the outcome. The result was
// committed (report "due") before this runs, so a leader that dies between
// the two sends it again: at least once, never lost.
func (e *Engine) reports(ctx context.Context, ac *cluster.ActiveConfig) {
	for _, run := range e.store.FSM().DrillRuns("") {
		if run.Report != "due" {
			continue
		}
		outcome := "sent"
		if err := e.sendReport(ctx, ac, run); err != nil {
			outcome = "failed: " + err.Error()
			e.log.Warn("drill report", "run", run.ID, "err", err)
		}
		if _, err := e.store.SubmitDrillResult(ctx, cluster.DrillResultCommand{Run: run.ID, ReportOutcome: outcome}); err != nil {
			e.log.Warn("record drill report outcome", "run", run.ID, "err", err)
		}
	}
}

func (e *Engine) sendReport(ctx context.Context, ac *cluster.ActiveConfig, run cluster.DrillRun) error {
	if e.senders == nil {
		return errors.New("no mail channel")
	}
	svc, _ := ac.Config.Service(run.Service)
	var errs []error
	seen := map[string]bool{}
	for _, id := range []string{svc.ContinuityManager, svc.Owner} {
		u, ok := ac.Config.User(id)
		if id == "" || seen[id] || !ok || u.Email == "" {
			continue
		}
		seen[id] = true
		s, err := e.senders.Sender(ac.Config, ac.Version, "email", "")
		if err == nil {
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err = s.Send(sctx, &notify.Message{ID: "drill-" + run.ID + "-" + id, User: u,
				Notice: &notify.Notice{Subject: ReportSubject(run, svc), Body: ReportText(run, svc)}})
			cancel()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// ReportSubject is the result mail's subject.
func ReportSubject(run cluster.DrillRun, svc config.Service) string {
	return fmt.Sprintf("[pagerd] [DRILL] %s: %s", serviceName(svc), strings.ToUpper(run.Status))
}

// ReportText is the result mail's body.
func ReportText(run cluster.DrillRun, svc config.Service) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Drill %s on %s: %s\n", run.Drill, serviceName(svc), run.Status)
	if run.Reason != "" {
		fmt.Fprintf(&b, "Reason: %s\n", run.Reason)
	}
	fmt.Fprintf(&b, "Run: %s (incident %s)\nStarted: %s\n", run.ID, run.Incident, run.StartedAt.UTC().Format(time.RFC3339))
	if run.AckedAt != nil {
		fmt.Fprintf(&b, "Acknowledged: %s by %s via %s, after %s (limit %s)\n", run.AckedAt.UTC().Format(time.RFC3339),
			run.AckedBy, run.AckChannel, seconds(*run.TimeToAckSeconds).Round(time.Second), seconds(run.AckWithinSeconds))
	}
	if run.ResolvedAt != nil {
		fmt.Fprintf(&b, "Resolved: %s, after %s (limit %s)\n", run.ResolvedAt.UTC().Format(time.RFC3339),
			seconds(*run.TimeToResolveSeconds).Round(time.Second), seconds(run.RecoverWithinSeconds))
	}
	fmt.Fprintf(&b, "Escalation step reached: %d\n", run.StepReached)
	if svc.Runbook != "" {
		fmt.Fprintf(&b, "Runbook: %s\n", svc.Runbook)
	}
	if svc.ContinuityPlan != "" {
		fmt.Fprintf(&b, "Continuity plan: %s\n", svc.ContinuityPlan)
	}
	return b.String()
}

func serviceName(s config.Service) string {
	if s.Name != "" {
		return s.Name
	}
	return s.ID
}
