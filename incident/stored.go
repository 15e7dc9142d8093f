package incident

import "time"

// The stored types are the replicated state's own form of an incident, in
// snapshots. They are separate from the API's JSON types (Incident and its
// parts): the API may rename or add a field without changing what a
// snapshot holds, and a snapshot written by an older release keeps
// decoding. Their JSON names are those of snapshot format 1, which wrote
// the API type itself, so format 1 decodes into them too.
//
// Alert, Escalation, Notification and Entry convert to and from their
// stored forms with Go's struct conversion, which needs the same fields in
// the same order: a field added to an API type fails to compile here until
// the stored type gets it too (and with it, a decision about the format).

type storedIncident struct {
	ID             uint64               `json:"id"`
	Key            string               `json:"key"`
	Title          string               `json:"title"`
	Service        string               `json:"service"`
	Severity       string               `json:"severity"`
	SeveritySetBy  string               `json:"severity_set_by,omitempty"`
	Status         Status               `json:"status"`
	DedupKey       string               `json:"dedup_key"`
	Source         string               `json:"source"`
	Integration    string               `json:"integration"`
	CreatedAt      time.Time            `json:"created_at"`
	AcknowledgedAt *time.Time           `json:"acknowledged_at"`
	AcknowledgedBy string               `json:"acknowledged_by"`
	ResolvedAt     *time.Time           `json:"resolved_at"`
	ResolvedBy     string               `json:"resolved_by"`
	AlertCount     int                  `json:"alert_count"`
	AlertsDropped  int                  `json:"alerts_dropped"`
	Alerts         []storedAlert        `json:"alerts"`
	Escalation     *storedEscalation    `json:"escalation"`
	DeferredUntil  *time.Time           `json:"deferred_until,omitempty"`
	Roles          map[string]string    `json:"roles"`
	RolesPaged     []string             `json:"roles_paged,omitempty"`
	RolesBriefed   map[string]string    `json:"roles_briefed,omitempty"`
	Notifications  []storedNotification `json:"notifications,omitempty"`
	Timeline       []storedEntry        `json:"timeline,omitempty"`
	// Status communication (updates.go, reminder.go).
	Phase           string               `json:"phase,omitempty"`
	Updates         []storedUpdate       `json:"updates,omitempty"`
	NextUpdateAt    *time.Time           `json:"next_update_at,omitempty"`
	UpdateOverdue   *storedUpdateOverdue `json:"update_overdue,omitempty"`
	DetectedAt      *time.Time           `json:"detected_at,omitempty"`
	ImpactStartedAt *time.Time           `json:"impact_started_at,omitempty"`
	MitigatedAt     *time.Time           `json:"mitigated_at,omitempty"`
	Drill           *DrillRef            `json:"drill,omitempty"`
}

type storedUpdate struct {
	ID         string            `json:"id"`
	At         time.Time         `json:"at"`
	By         string            `json:"by"`
	Audience   string            `json:"audience"`
	Phase      string            `json:"phase"`
	Message    string            `json:"message"`
	Template   string            `json:"template,omitempty"`
	Components map[string]string `json:"components,omitempty"`
	Channel    string            `json:"channel,omitempty"`
	Auto       bool              `json:"auto,omitempty"`
}

type storedUpdateOverdue struct {
	Due       time.Time  `json:"due"`
	Reminders int        `json:"reminders"`
	LastAt    time.Time  `json:"last_at"`
	AckedAt   *time.Time `json:"acked_at,omitempty"`
	AckedBy   string     `json:"acked_by,omitempty"`
}

type storedAlert struct {
	Fingerprint  string            `json:"fingerprint"`
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"starts_at,omitzero"` // absent: unknown (format 1 wrote null)
	EndsAt       time.Time         `json:"ends_at,omitzero"`
	Severity     string            `json:"severity"`
	GeneratorURL string            `json:"generator_url,omitempty"`
	SilenceURL   string            `json:"silence_url,omitempty"`
}

type storedEscalation struct {
	Policy        string     `json:"policy"`
	Step          int        `json:"step"`
	Loop          int        `json:"loop"`
	NextAt        *time.Time `json:"next_at"`
	Seq           int        `json:"seq"`
	StepStartedAt *time.Time `json:"step_started_at,omitempty"`
	Exhausted     bool       `json:"exhausted,omitempty"`
	Escalated     bool       `json:"escalated,omitempty"`
}

type storedNotification struct {
	ID         string     `json:"id"`
	User       string     `json:"user"`
	Channel    string     `json:"channel"`
	To         string     `json:"to"`
	Step       int        `json:"step"`
	Loop       int        `json:"loop"`
	Status     string     `json:"status"`
	Attempts   int        `json:"attempts"`
	DueAt      time.Time  `json:"due_at"`
	SentAt     *time.Time `json:"sent_at"`
	Error      string     `json:"error"`
	ReplyCode  int        `json:"reply_code,omitempty"`
	ProviderID string     `json:"provider_id,omitempty"`
	Summary    string     `json:"summary,omitempty"`
	HeldAt     *time.Time `json:"held_at,omitempty"`
	Kind       string     `json:"kind,omitempty"`
	Role       string     `json:"role,omitempty"`
}

type storedEntry struct {
	At      time.Time  `json:"at"`
	Type    string     `json:"type"`
	Actor   string     `json:"actor"`
	Message string     `json:"message"`
	From    string     `json:"from,omitempty"`
	To      string     `json:"to,omitempty"`
	Note    string     `json:"note,omitempty"`
	Role    string     `json:"role,omitempty"`
	Count   int        `json:"count,omitempty"`
	LastAt  *time.Time `json:"last_at,omitempty"`
}

// toStored is the stored form of inc. It shares nothing mutable with inc
// that the state changes in place (the frozen view is never changed).
func toStored(inc *Incident) *storedIncident {
	s := &storedIncident{}
	s.fill(inc)
	return s
}

// fill makes s the stored form of inc, reusing s's slices: a snapshot
// encodes every incident through one scratch value, so writing 100k
// incidents does not leave 100k copies behind as garbage.
func (s *storedIncident) fill(inc *Incident) {
	alerts, notes, entries, esc := s.Alerts[:0], s.Notifications[:0], s.Timeline[:0], s.Escalation
	*s = storedIncident{ID: inc.ID, Key: inc.Key, Title: inc.Title, Service: inc.Service, Severity: inc.Severity,
		SeveritySetBy: inc.SeveritySetBy, DeferredUntil: inc.DeferredUntil, Status: inc.Status,
		Roles: inc.Roles, RolesPaged: inc.RolesPaged, RolesBriefed: inc.RolesBriefed,
		DetectedAt: inc.DetectedAt, ImpactStartedAt: inc.ImpactStartedAt, MitigatedAt: inc.MitigatedAt,
		Drill: inc.Drill, DedupKey: inc.DedupKey, Source: inc.Source, Integration: inc.Integration,
		CreatedAt: inc.CreatedAt, AcknowledgedAt: inc.AcknowledgedAt, AcknowledgedBy: inc.AcknowledgedBy,
		ResolvedAt: inc.ResolvedAt, ResolvedBy: inc.ResolvedBy, AlertCount: inc.AlertCount,
		AlertsDropped: inc.AlertsDropped}
	for _, a := range inc.Alerts {
		alerts = append(alerts, storedAlert(a))
	}
	s.Alerts = alerts
	if s.Alerts == nil {
		s.Alerts = []storedAlert{}
	}
	if inc.Escalation != nil {
		if esc == nil {
			esc = &storedEscalation{}
		}
		*esc = storedEscalation(*inc.Escalation)
		s.Escalation = esc
	}
	for _, n := range inc.Notifications {
		notes = append(notes, storedNotification(n))
	}
	for _, e := range inc.Timeline {
		entries = append(entries, storedEntry(e))
	}
	s.Notifications, s.Timeline = notes, entries
	s.Phase, s.NextUpdateAt = inc.Phase, inc.NextUpdateAt
	for _, u := range inc.Updates {
		s.Updates = append(s.Updates, storedUpdate(u))
	}
	if inc.UpdateOverdue != nil {
		o := storedUpdateOverdue(*inc.UpdateOverdue)
		s.UpdateOverdue = &o
	}
}

// fromStored is the in-memory incident of a stored one. The key is derived
// from the id, whatever the record says.
func fromStored(s *storedIncident) *Incident {
	inc := &Incident{ID: s.ID, Key: KeyFor(s.ID), Title: s.Title, Service: s.Service, Severity: s.Severity,
		SeveritySetBy: s.SeveritySetBy, DeferredUntil: s.DeferredUntil, Status: s.Status,
		Roles: s.Roles, RolesPaged: s.RolesPaged, RolesBriefed: s.RolesBriefed,
		DetectedAt: s.DetectedAt, ImpactStartedAt: s.ImpactStartedAt, MitigatedAt: s.MitigatedAt, Drill: s.Drill, DedupKey: s.DedupKey, Source: s.Source, Integration: s.Integration,
		CreatedAt: s.CreatedAt, AcknowledgedAt: s.AcknowledgedAt, AcknowledgedBy: s.AcknowledgedBy,
		ResolvedAt: s.ResolvedAt, ResolvedBy: s.ResolvedBy, AlertCount: s.AlertCount,
		AlertsDropped: s.AlertsDropped, Alerts: make([]Alert, len(s.Alerts))}
	for i, a := range s.Alerts {
		inc.Alerts[i] = Alert(a)
	}
	if s.Escalation != nil {
		e := Escalation(*s.Escalation)
		inc.Escalation = &e
	}
	if len(s.Notifications) > 0 {
		inc.Notifications = make([]Notification, len(s.Notifications))
		for i, n := range s.Notifications {
			inc.Notifications[i] = Notification(n)
		}
	}
	if len(s.Timeline) > 0 {
		inc.Timeline = make([]Entry, len(s.Timeline))
		for i, e := range s.Timeline {
			inc.Timeline[i] = Entry(e)
		}
	}
	inc.Phase, inc.NextUpdateAt = s.Phase, s.NextUpdateAt
	for _, u := range s.Updates {
		inc.Updates = append(inc.Updates, Update(u))
	}
	if s.UpdateOverdue != nil {
		o := UpdateOverdue(*s.UpdateOverdue)
		inc.UpdateOverdue = &o
	}
	return inc
}
