package incident

import (
	"fmt"
	"time"
)

// Timeline entry type and action kind of the impact timestamp (spec §5.2,
// §5.3), kept here beside the code that uses them.
const (
	// EntryImpactStarted records a person saying when customer impact began.
	EntryImpactStarted = "impact_started"
	// Impact sets impact_started_at from Action.StartedAt.
	Impact = "impact"
)

// noteDetected keeps DetectedAt at the earliest startsAt of the incident's
// alerts. It starts at CreatedAt and only moves earlier: a source clock
// ahead of the leader's must not make detection look later than the
// incident itself.
func noteDetected(inc *Incident, a *Alert) {
	if a.StartsAt.IsZero() || a.Status == "resolved" {
		return
	}
	if inc.DetectedAt == nil || a.StartsAt.Before(*inc.DetectedAt) {
		t := a.StartsAt.UTC()
		inc.DetectedAt = &t
	}
}

// DetectedTime is DetectedAt, or for an incident recorded before the field
// existed, the earliest alert start no later than CreatedAt.
func (inc *Incident) DetectedTime() time.Time {
	if inc.DetectedAt != nil {
		return *inc.DetectedAt
	}
	t := inc.CreatedAt
	for i := range inc.Alerts {
		if s := inc.Alerts[i].StartsAt; !s.IsZero() && s.Before(t) {
			t = s
		}
	}
	return t
}

// setImpact records when customer impact began. The time comes from a
// person and is never guessed; one in the future (by the leader's stamped
// clock) or after the incident was resolved is refused, changing nothing.
func setImpact(now time.Time, inc *Incident, a *Action, actor string) error {
	if a.StartedAt == nil || a.StartedAt.IsZero() {
		return fmt.Errorf("%w: started_at: required, an RFC 3339 time", ErrInvalid)
	}
	at := a.StartedAt.UTC()
	if at.After(now) {
		return fmt.Errorf("%w: started_at: %s is in the future (now %s)", ErrInvalid,
			at.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if inc.ResolvedAt != nil && at.After(*inc.ResolvedAt) {
		return fmt.Errorf("%w: started_at: %s is after %s was resolved at %s", ErrInvalid,
			at.Format(time.RFC3339), inc.Key, inc.ResolvedAt.UTC().Format(time.RFC3339))
	}
	inc.ImpactStartedAt = &at
	inc.addEntry(now, EntryImpactStarted, actor,
		withNote("customer impact started at "+at.Format(time.RFC3339)+" (via "+channelOf(a)+")", a.Note))
	return nil
}

// noteMitigated is the setter of mitigated_at: the apply of a status update
// calls it with the update's phase (updates.go); nothing else sets the
// field. Only the first update in
// phase monitoring counts; a later one, or any other phase, changes nothing.
func noteMitigated(inc *Incident, phase string, at time.Time) {
	if phase != PhaseMonitoring || inc.MitigatedAt != nil {
		return
	}
	t := at.UTC()
	inc.MitigatedAt = &t
}
