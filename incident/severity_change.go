package incident

import (
	"errors"
	"fmt"
	"time"
)

// Deferral is part of the leader's paging plan, stamped into every command
// that opens an incident or sets a severity: paging an incident of
// Severity, at the instant the leader planned, waits for business hours
// until Until, the next start of Window. A severity with no Deferral in the
// plan pages at once. The leader computes it (clock, zone database,
// business_hours); apply only looks it up, so replicas never evaluate
// clocks or zones and cannot disagree about it.
type Deferral struct {
	Severity string    `json:"severity"`
	Window   string    `json:"window"`
	Until    time.Time `json:"until"`
}

// deferralFor finds sev's deferral in plan, if paging it waits past now.
func deferralFor(plan []Deferral, sev string, now time.Time) (Deferral, bool) {
	for _, d := range plan {
		if d.Severity == sev && d.Until.After(now) {
			return d, true
		}
	}
	return Deferral{}, false
}

// waiting reports whether inc's paging has not begun and could still be
// deferred or started: triggered, with a policy whose step 0 has not run.
func waiting(inc *Incident) bool {
	return inc.Status == Triggered && inc.Escalation != nil && !inc.Escalation.Started() && !inc.Escalation.Exhausted
}

// planPaging applies the leader's plan to an incident whose severity has
// just been set, and says what it did for the timeline. Only paging that
// has not begun moves: a page already sent is never taken back.
func planPaging(now time.Time, inc *Incident, plan []Deferral) string {
	if !waiting(inc) {
		return ""
	}
	d, deferred := deferralFor(plan, inc.Severity, now)
	switch {
	case deferred && (inc.DeferredUntil == nil || !inc.DeferredUntil.Equal(d.Until)):
		deferPaging(now, inc, d)
		return fmt.Sprintf("; paging deferred until %s", d.Until.UTC().Format(time.RFC3339))
	case !deferred && inc.DeferredUntil != nil:
		due := now
		inc.DeferredUntil, inc.Escalation.NextAt = nil, &due
		return fmt.Sprintf("; %s pages at any time: paging starts now", inc.Severity)
	}
	return ""
}

func deferPaging(now time.Time, inc *Incident, d Deferral) {
	until, next := d.Until, d.Until
	inc.DeferredUntil, inc.Escalation.NextAt = &until, &next
	typ, msg := deferralMessage(inc, d)
	inc.addEntry(now, typ, "pagerd", msg)
}

// followAlertSeverity updates an open incident's severity from its alerts,
// unless a person set it (theirs stands until changed again). A deferred
// incident whose alerts now call for a severity that pages at once starts
// paging; that change is recorded as severity_changed by the source.
func followAlertSeverity(now time.Time, inc *Incident, plan []Deferral, actor string) {
	if inc.SeveritySetBy != "" {
		return
	}
	from := inc.Severity
	inc.Severity = highestSeverity(inc.Alerts, inc.Severity)
	if inc.DeferredUntil == nil || from == inc.Severity {
		return
	}
	at := len(inc.Timeline) // the change comes before the deferral it causes
	inc.Timeline = append(inc.Timeline, Entry{At: now, Type: EntrySeverityChanged, Actor: actor, From: from, To: inc.Severity})
	inc.Timeline[at].Message = fmt.Sprintf("severity %s → %s by the alerts", from, inc.Severity) + planPaging(now, inc, plan)
}

// SeverityChange is a person setting an incident's severity (spec §5.3).
type SeverityChange struct {
	Incident uint64 `json:"incident"`
	Severity string `json:"severity"`
	By       string `json:"by"`
	Channel  string `json:"channel"` // api | sms | email
	Note     string `json:"note"`
	// DedupID makes a retried reply act once, as Action.DedupID.
	DedupID string `json:"dedup_id,omitempty"`
	// Deferrals is the leader's paging plan at the change (see Deferral).
	Deferrals []Deferral `json:"deferrals,omitempty"`
}

// ApplySeverityChange sets the severity a person chose. It stands over the
// alerts' until changed again. Paging that has not begun is re-planned at
// once: a deferred incident raised to a severity that pages now starts
// paging; lowering never stops a page already sent. Errors, with no change:
// ErrNotFound, ErrInvalid (unknown severity), ErrConflict (resolved).
func (s *State) ApplySeverityChange(now time.Time, sc *SeverityChange) (*Incident, error) {
	inc := s.own(s.byID(sc.Incident))
	if inc == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, KeyFor(sc.Incident))
	}
	if sc.DedupID != "" {
		if first, dup := s.dedup[sc.DedupID]; dup {
			return s.replay(sc.DedupID, first, inc)
		}
	}
	out, err := s.applySeverity(now, inc, sc)
	if sc.DedupID != "" && (err == nil || errors.Is(err, ErrConflict)) {
		s.rememberAction(sc.DedupID, inc.ID, err)
	}
	return out, err
}

func (s *State) applySeverity(now time.Time, inc *Incident, sc *SeverityChange) (*Incident, error) {
	if SeverityRank(sc.Severity) >= len(Severities) {
		return nil, fmt.Errorf("%w: severity: unknown severity %q (use sev1, sev2 or sev3)", ErrInvalid, sc.Severity)
	}
	if inc.Status == Resolved {
		return nil, conflict(inc, "change the severity of")
	}
	actor := sc.By
	if actor == "" {
		actor = "unknown"
	}
	from := inc.Severity
	inc.Severity, inc.SeveritySetBy = sc.Severity, actor
	msg := fmt.Sprintf("severity %s → %s via %s", from, sc.Severity, orAPI(sc.Channel))
	if sc.Note != "" {
		msg += ": " + sc.Note
	}
	at := len(inc.Timeline)
	inc.Timeline = append(inc.Timeline, Entry{At: now, Type: EntrySeverityChanged, Actor: actor, From: from, To: sc.Severity, Note: sc.Note})
	inc.Timeline[at].Message = msg + planPaging(now, inc, sc.Deferrals)
	return inc.Clone(), nil
}

func orAPI(channel string) string {
	if channel == "" {
		return "api"
	}
	return channel
}
