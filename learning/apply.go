package learning

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// Incidents is the FSM's incident state: learning reads incidents and
// appends postmortem_* and followup_* timeline entries to them.
type Incidents interface {
	Get(id uint64) (*incident.Incident, bool)
	AddEntry(now time.Time, id uint64, typ, actor, msg string) bool
}

// Timeline entry types (spec §5.2 postmortem_*, followup_*).
const (
	EntryPostmortemDrafted = "postmortem_drafted" // made on resolve
	EntryPostmortemCreated = "postmortem_created" // started by hand
	EntryPostmortemEdited  = "postmortem_edited"
	EntryPostmortemStatus  = "postmortem_status" // draft / in_review / published
	EntryFollowupAdded     = "followup_added"
	EntryFollowupClosed    = "followup_closed" // done or wont_do
	EntryFollowupReopened  = "followup_reopened"
	EntryFollowupChanged   = "followup_changed"
)

// DefaultPostmortemDue is how long after resolve a postmortem is due when
// the severity's postmortem_due is unset.
const DefaultPostmortemDue = 5 * 24 * time.Hour

// ApplyPostmortem creates or edits a postmortem. A PUT on an incident
// without one creates it by hand (any severity), prefilled unless a body
// is given.
func (s *State) ApplyPostmortem(now time.Time, cfg *config.Config, incs Incidents, c *PostmortemCommand) (Postmortem, error) {
	inc, ok := incs.Get(c.Incident)
	if !ok {
		return Postmortem{}, notFound("incident %s not found", incident.KeyFor(c.Incident))
	}
	if err := checkPostmortem(cfg, c); err != nil {
		return Postmortem{}, err
	}
	p, ok := s.Postmortems[c.Incident]
	if !ok {
		p = newPostmortem(now, cfg, inc, c.By)
		s.Postmortems[c.Incident] = p
		incs.AddEntry(now, c.Incident, EntryPostmortemCreated, c.By, "postmortem started, owner "+p.Owner+", due "+day(p.DueAt))
	}
	if c.BodySet && c.Body != p.Body {
		incs.AddEntry(now, c.Incident, EntryPostmortemEdited, c.By, fmt.Sprintf("postmortem body edited (%d bytes)", len(c.Body)))
	}
	if c.Owner != "" && c.Owner != p.Owner {
		incs.AddEntry(now, c.Incident, EntryPostmortemEdited, c.By, "postmortem owner "+p.Owner+" → "+c.Owner)
	}
	if c.Status != "" && c.Status != p.Status {
		incs.AddEntry(now, c.Incident, EntryPostmortemStatus, c.By, "postmortem "+p.Status+" → "+c.Status)
		p.Status = c.Status
		if c.Status == StatusPublished {
			at := now
			p.PublishedAt = &at
			s.forgetReminders(p.Key)
		}
	}
	if c.Owner != "" {
		p.Owner = c.Owner
	}
	if c.BodySet {
		p.Body = c.Body
	}
	p.UpdatedAt, p.UpdatedBy = now, c.By
	return *p, nil
}

func checkPostmortem(cfg *config.Config, c *PostmortemCommand) error {
	switch {
	case c.Status != "" && !slices.Contains([]string{StatusDraft, StatusInReview, StatusPublished}, c.Status):
		return invalid("status: unknown status %q (want draft, in_review or published)", c.Status)
	case c.Owner != "" && !knownUser(cfg, c.Owner):
		return invalid("owner: unknown user %q", c.Owner)
	case len(c.Body) > MaxBody:
		return invalid("body: %d bytes is over the %d-byte cap", len(c.Body), MaxBody)
	case !utf8.ValidString(c.Body):
		return invalid("body: not valid UTF-8")
	}
	return nil
}

func knownUser(cfg *config.Config, id string) bool {
	if cfg == nil {
		return false
	}
	_, ok := cfg.User(id)
	return ok
}

// OnResolved creates the postmortem a resolved incident's severity
// requires. The FSM calls it after every command that touched inc; only a
// resolve in this very batch (ResolvedAt == now) counts, so a later
// command on an old incident never creates one.
func (s *State) OnResolved(now time.Time, cfg *config.Config, incs Incidents, inc *incident.Incident) bool {
	if inc == nil || inc.ResolvedAt == nil || !inc.ResolvedAt.Equal(now) || cfg == nil {
		return false
	}
	if _, ok := s.Postmortems[inc.ID]; ok {
		return false
	}
	if cfg.SeverityPolicyOf(inc.Severity).Postmortem != config.PostmortemRequired {
		return false
	}
	p := newPostmortem(now, cfg, inc, "pagerd")
	s.Postmortems[inc.ID] = p
	incs.AddEntry(now, inc.ID, EntryPostmortemDrafted, "pagerd", "postmortem drafted (severity "+inc.Severity+"), owner "+
		orElse(p.Owner, "nobody yet")+", due "+day(p.DueAt))
	return true
}

func newPostmortem(now time.Time, cfg *config.Config, inc *incident.Incident, by string) *Postmortem {
	due := DefaultPostmortemDue
	if cfg != nil {
		if d := time.Duration(cfg.SeverityPolicyOf(inc.Severity).PostmortemDue); d > 0 {
			due = d
		}
	}
	return &Postmortem{Incident: inc.ID, Key: incident.KeyFor(inc.ID), Status: StatusDraft,
		Owner: IncidentManager(inc), DueAt: now.Add(due), Body: Prefill(cfg, inc, now),
		CreatedAt: now, CreatedBy: by, UpdatedAt: now, UpdatedBy: by}
}

// ApplyFollowupAdd adds a follow-up with the next id of its incident.
func (s *State) ApplyFollowupAdd(now time.Time, cfg *config.Config, incs Incidents, c *FollowupAdd) (Followup, error) {
	inc, ok := incs.Get(c.Incident)
	if !ok {
		return Followup{}, notFound("incident %s not found", incident.KeyFor(c.Incident))
	}
	if err := checkFollowupAdd(now, cfg, c); err != nil {
		return Followup{}, err
	}
	if s.Seq[c.Incident] >= MaxFollowupsPerIncident {
		return Followup{}, conflict("incident %s already has %d follow-ups", inc.Key, MaxFollowupsPerIncident)
	}
	due := c.Due
	if due.IsZero() {
		due = now.Add(time.Duration(cfg.SeverityPolicyOf(inc.Severity).FollowupsDue))
	}
	prio := c.Priority
	if prio == "" {
		prio = PriorityNormal
	}
	s.Seq[c.Incident]++
	id := fmt.Sprintf("%s-F%d", incident.KeyFor(c.Incident), s.Seq[c.Incident])
	f := &Followup{ID: id, Incident: c.Incident, Key: incident.KeyFor(c.Incident), Title: strings.TrimSpace(c.Title),
		Owner: c.Owner, Due: due, Priority: prio, Link: c.Link, Status: FollowupOpen, CreatedAt: now, CreatedBy: c.By}
	s.Followups[id] = f
	incs.AddEntry(now, c.Incident, EntryFollowupAdded, c.By, fmt.Sprintf("%s %q for %s, due %s", id, f.Title, f.Owner, day(f.Due)))
	return *f, nil
}

func checkFollowupAdd(now time.Time, cfg *config.Config, c *FollowupAdd) error {
	switch {
	case strings.TrimSpace(c.Title) == "":
		return invalid("title: required")
	case len(c.Title) > maxTitle:
		return invalid("title: over %d bytes", maxTitle)
	case c.Owner == "":
		return invalid("owner: required")
	case !knownUser(cfg, c.Owner):
		return invalid("owner: unknown user %q", c.Owner)
	case !c.Due.IsZero() && !c.Due.After(now):
		return invalid("due: %s is in the past", c.Due.UTC().Format(time.RFC3339))
	case c.Priority != "" && !slices.Contains([]string{PriorityHigh, PriorityNormal, PriorityLow}, c.Priority):
		return invalid("priority: unknown priority %q (want high, normal or low)", c.Priority)
	}
	return checkLink(c.Link)
}

func checkLink(link string) error {
	if link == "" {
		return nil
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(link) > maxLink {
		return invalid("link: want an http or https URL of at most %d bytes", maxLink)
	}
	return nil
}

// ApplyFollowupPatch changes a follow-up. Closing one already closed is a
// conflict whose message says by whom and when (a reply `done` answers it).
func (s *State) ApplyFollowupPatch(now time.Time, cfg *config.Config, incs Incidents, c *FollowupPatch) (Followup, error) {
	f, ok := s.Followups[strings.ToUpper(c.ID)]
	if !ok {
		return Followup{}, notFound("follow-up %s not found", c.ID)
	}
	if err := checkPatch(now, cfg, f, c); err != nil {
		return *f, err
	}
	if msg := patchMessage(f, c); msg != "" {
		incs.AddEntry(now, f.Incident, patchEntry(f, c), c.By, f.ID+" "+msg)
	}
	if c.Status != "" && c.Status != f.Status {
		f.Status = c.Status
		if c.Status == FollowupOpen {
			f.ClosedAt, f.ClosedBy, f.ClosedVia = nil, "", ""
		} else {
			at := now
			f.ClosedAt, f.ClosedBy, f.ClosedVia = &at, c.By, orElse(c.Via, "api")
			s.forgetReminders(f.ID)
		}
	}
	if c.Owner != "" {
		f.Owner = c.Owner
	}
	if c.Due != nil {
		f.Due = *c.Due
	}
	if c.Note != "" {
		f.Note = c.Note
	}
	if c.Link != nil {
		f.Link = *c.Link
	}
	return *f, nil
}

func checkPatch(now time.Time, cfg *config.Config, f *Followup, c *FollowupPatch) error {
	switch {
	case c.Status != "" && !slices.Contains([]string{FollowupOpen, FollowupDone, FollowupWontDo}, c.Status):
		return invalid("status: unknown status %q (want open, done or wont_do)", c.Status)
	case c.Owner != "" && !knownUser(cfg, c.Owner):
		return invalid("owner: unknown user %q", c.Owner)
	case c.Due != nil && !c.Due.After(now):
		return invalid("due: %s is in the past", c.Due.UTC().Format(time.RFC3339))
	case len(c.Note) > maxNote:
		return invalid("note: over %d bytes", maxNote)
	case c.Via == "email" && c.By != f.Owner:
		return conflict("follow-up %s is owned by %s; only its owner may close it by reply", f.ID, f.Owner)
	case c.Status != "" && c.Status != FollowupOpen && f.Status != FollowupOpen:
		return conflict("follow-up %s is already %s (by %s%s)", f.ID, f.Status, orElse(f.ClosedBy, "someone"), closedWhen(f))
	}
	if c.Link != nil {
		return checkLink(*c.Link)
	}
	return nil
}

func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ApplyReminderQueue records reminders about to be sent; refused whole if
// any is recorded already.
func (s *State) ApplyReminderQueue(now time.Time, c *ReminderQueue) ([]ReminderRecord, error) {
	if len(c.Items) == 0 {
		return nil, invalid("items: required")
	}
	for _, it := range c.Items {
		if _, ok := s.Reminders[it.ID]; ok {
			return nil, conflict("reminder %s already recorded", it.ID)
		}
	}
	out := make([]ReminderRecord, 0, len(c.Items))
	for _, it := range c.Items {
		r := it
		r.To, r.Status, r.QueuedAt, r.DoneAt, r.Error = c.To, ReminderQueued, now, nil, ""
		s.Reminders[r.ID] = &r
		out = append(out, r)
	}
	return out, nil
}

// ApplyReminderOutcome records how a queued reminder mail went.
func (s *State) ApplyReminderOutcome(now time.Time, c *ReminderOutcome) (int, error) {
	if c.Status != ReminderSent && c.Status != ReminderFailed {
		return 0, invalid("status: want sent or failed")
	}
	n := 0
	for _, id := range c.IDs {
		r, ok := s.Reminders[id]
		if !ok || r.Status != ReminderQueued {
			continue
		}
		at := now
		r.Status, r.DoneAt, r.Error = c.Status, &at, c.Error
		n++
	}
	return n, nil
}

func closedWhen(f *Followup) string {
	if f.ClosedAt == nil {
		return ""
	}
	return " at " + f.ClosedAt.UTC().Format(time.RFC3339)
}

// forgetReminders drops the reminder records about ref once it no longer
// reminds anyone (a closed follow-up, a published postmortem), so the
// record stays bounded by what is still open.
func (s *State) forgetReminders(ref string) {
	for id, r := range s.Reminders {
		if r.Ref == ref {
			delete(s.Reminders, id)
		}
	}
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func patchEntry(f *Followup, c *FollowupPatch) string {
	switch {
	case c.Status == FollowupOpen && f.Status != FollowupOpen:
		return EntryFollowupReopened
	case c.Status != "" && c.Status != FollowupOpen && c.Status != f.Status:
		return EntryFollowupClosed
	}
	return EntryFollowupChanged
}

func patchMessage(f *Followup, c *FollowupPatch) string {
	var parts []string
	if c.Status != "" && c.Status != f.Status {
		parts = append(parts, f.Status+" → "+c.Status)
	}
	if c.Owner != "" && c.Owner != f.Owner {
		parts = append(parts, "owner "+f.Owner+" → "+c.Owner)
	}
	if c.Due != nil {
		parts = append(parts, "due "+day(*c.Due))
	}
	if c.Link != nil {
		parts = append(parts, "link "+*c.Link)
	}
	if c.Note != "" {
		parts = append(parts, "note: "+c.Note)
	}
	if c.Via == "email" {
		parts = append(parts, "by email reply")
	}
	if len(parts) == 0 || (len(parts) == 1 && c.Via == "email") {
		return ""
	}
	return strings.Join(parts, "; ")
}
