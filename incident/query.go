package incident

import (
	"fmt"
	"maps"
	"sort"
	"time"
)

// Get returns a copy of the incident with that id.
func (s *State) Get(id uint64) (*Incident, bool) {
	inc := s.byID(id)
	if inc == nil {
		return nil, false
	}
	return inc.Clone(), true
}

// Filter selects incidents for List. A zero field matches everything.
type Filter struct {
	Statuses map[Status]bool
	Service  string
	DedupKey string
	Severity string // the console's severity filter
}

func (f Filter) match(inc *Incident) bool {
	return (len(f.Statuses) == 0 || f.Statuses[inc.Status]) &&
		(f.Service == "" || f.Service == inc.Service) &&
		(f.DedupKey == "" || f.DedupKey == inc.DedupKey) &&
		(f.Severity == "" || f.Severity == inc.Severity)
}

// List returns up to limit matching incidents newest first, starting below the
// id `before` (0: from the newest), without alerts, timelines and
// notifications (alert_count and alerts_dropped still say how many). next
// is the cursor for the following page, 0 on the last page.
func (s *State) List(f Filter, before uint64, limit int) (items []*Incident, next uint64) {
	if limit <= 0 {
		return nil, 0
	}
	start := s.nextID() - 1
	if before != 0 && before-1 < start {
		start = before - 1
	}
	for id := start; id > s.base; id-- {
		inc := s.incidents[id-s.base-1]
		if inc == nil || !f.match(inc) {
			continue
		}
		if len(items) == limit {
			return items, items[len(items)-1].ID
		}
		items = append(items, inc.listItem())
	}
	return items, 0
}

// Count calls fn with the number of incidents per service and status.
func (s *State) Count(fn func(service string, status Status, n int)) {
	type key struct {
		service string
		status  Status
	}
	counts := map[key]int{}
	for _, inc := range s.incidents {
		if inc == nil {
			continue
		}
		counts[key{inc.Service, inc.Status}]++
	}
	for k, n := range counts {
		fn(k.service, k.status, n)
	}
}

// Len is the number of incidents ever opened (the last id assigned),
// including those retention has removed since.
func (s *State) Len() int { return int(s.nextID() - 1) }

// nextID is the id the next incident gets.
func (s *State) nextID() uint64 { return s.base + uint64(len(s.incidents)) + 1 }

// Clone returns a deep copy, safe to hand outside the state's lock.
func (inc *Incident) Clone() *Incident {
	c := *inc
	c.AcknowledgedAt = cloneTime(inc.AcknowledgedAt)
	c.ResolvedAt = cloneTime(inc.ResolvedAt)
	c.DetectedAt = cloneTime(inc.DetectedAt)
	c.ImpactStartedAt = cloneTime(inc.ImpactStartedAt)
	c.MitigatedAt = cloneTime(inc.MitigatedAt)
	c.DeferredUntil = cloneTime(inc.DeferredUntil)
	c.Alerts = make([]Alert, len(inc.Alerts))
	for i, a := range inc.Alerts {
		a.Labels = maps.Clone(a.Labels)
		a.Annotations = maps.Clone(a.Annotations)
		c.Alerts[i] = a
	}
	if inc.Escalation != nil {
		e := *inc.Escalation
		e.NextAt = cloneTime(e.NextAt)
		e.StepStartedAt = cloneTime(e.StepStartedAt)
		c.Escalation = &e
	}
	c.Notifications = append([]Notification(nil), inc.Notifications...)
	for i := range c.Notifications {
		c.Notifications[i].SentAt = cloneTime(c.Notifications[i].SentAt)
		c.Notifications[i].HeldAt = cloneTime(c.Notifications[i].HeldAt)
	}
	c.Timeline = append([]Entry(nil), inc.Timeline...)
	cloneUpdates(&c)
	cloneRoles(&c, inc)
	return &c
}

// summary is the list form of an incident: no timeline or notifications.
func (inc *Incident) summary() *Incident {
	c := *inc
	c.Timeline, c.Notifications = nil, nil
	return c.Clone()
}

// listItem is the list form: summary without alerts either, which belong in
// the single-incident answer (an incident keeps up to MaxAlerts of them).
func (inc *Incident) listItem() *Incident {
	c := *inc
	c.Timeline, c.Notifications, c.Alerts = nil, nil, nil
	out := c.Clone()
	out.Alerts = nil
	return out
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// EachOpen calls fn with every open incident (not a copy: fn must not keep
// or change it). The order is unspecified.
func (s *State) EachOpen(fn func(*Incident)) {
	for _, inc := range s.open {
		fn(inc)
	}
}

// EachSentSince calls fn with every notification sent after since (not a
// copy: fn must not keep or change it), for the leader's flood-control
// windows. Incidents resolved before since sent nothing after it.
func (s *State) EachSentSince(since time.Time, fn func(*Notification)) {
	for _, inc := range s.incidents {
		if inc == nil || inc.ResolvedAt != nil && !inc.ResolvedAt.After(since) {
			continue
		}
		for i := range inc.Notifications {
			if n := &inc.Notifications[i]; n.SentAt != nil && n.SentAt.After(since) {
				fn(n)
			}
		}
	}
}

// PhonePage is an SMS page sent to a phone, for reply handling.
type PhonePage struct {
	Incident     *Incident // without timeline and notifications
	Notification Notification
	// Role is set when every SMS of the incident to that phone was a page
	// for this role: the phone's code then stands for the role page, and
	// an ack takes the role instead of acknowledging the incident.
	Role string
}

// PhonePages lists the SMS pages sent to phone whose incidents are open,
// newest first: the pages a reply from that phone can act on.
func (s *State) PhonePages(phone string) []PhonePage {
	var out []PhonePage
	for id := range s.phoneCodes[phone] {
		inc := s.byID(id)
		if inc == nil || !inc.Status.Open() {
			continue
		}
		var latest *Notification
		for i := range inc.Notifications {
			n := &inc.Notifications[i]
			if n.Channel == ChannelSMS && n.To == phone && n.Status == NotifySent &&
				(latest == nil || n.SentAt.After(*latest.SentAt)) {
				latest = n
			}
		}
		if latest != nil {
			out = append(out, PhonePage{Incident: inc.summary(), Notification: *latest, Role: onlyRolePaged(inc, phone)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Notification.SentAt, out[j].Notification.SentAt
		if !a.Equal(*b) {
			return a.After(*b)
		}
		return out[i].Incident.ID > out[j].Incident.ID
	})
	return out
}

// Notification finds a notification by id ("n<incident>-<seq>-<k>").
func (s *State) Notification(id string) (*Incident, Notification, bool) {
	var incID uint64
	if _, err := fmt.Sscanf(id, "n%d-", &incID); err != nil {
		return nil, Notification{}, false
	}
	inc := s.byID(incID)
	if inc == nil {
		return nil, Notification{}, false
	}
	if n := inc.notification(id); n != nil {
		return inc.summary(), *n, true
	}
	return nil, Notification{}, false
}

// onlyRolePaged is the role every SMS of inc to phone paged for, or "".
func onlyRolePaged(inc *Incident, phone string) string {
	role := ""
	for _, n := range inc.Notifications {
		if n.Channel != ChannelSMS || n.To != phone {
			continue
		}
		if n.Kind != KindRolePage || (role != "" && n.Role != role) {
			return ""
		}
		role = n.Role
	}
	return role
}
